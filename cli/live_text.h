/* Text redrawn in place on a terminal (`maskkv chat` shows its answer as it
 * unmasks): each draw replaces the previous one, however many rows it took
 * (lines and wrapping at the terminal's width). Control characters other
 * than newline and tab are shown as U+FFFD, so model output cannot send
 * escape sequences to the terminal. */
#ifndef MKV_CLI_LIVE_TEXT_H
#define MKV_CLI_LIVE_TEXT_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
    FILE *out;
    int rows; /* rows of the last draw; 0: nothing drawn */
} live_text;

void live_text_start(live_text *v, FILE *out);
void live_text_draw(live_text *v, const char *text, size_t len);
/* Leaves the last draw on the screen and ends its line. */
void live_text_end(live_text *v);
/* Writes text as a draw would (control characters replaced), not redrawn. */
void live_text_write(FILE *out, const char *text, size_t len);

#endif
