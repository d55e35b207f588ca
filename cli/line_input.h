/* Lines typed by a person or piped by a script, for `maskkv chat`: on a
 * terminal libedit's line editing and history (Ctrl-C clears the line), else
 * plain lines from stdin. Also the chat's SIGINT flag: while the command runs,
 * Ctrl-C sets it instead of ending the process. */
#ifndef MKV_CLI_LINE_INPUT_H
#define MKV_CLI_LINE_INPUT_H

#include <stdbool.h>

#include "maskkv.h"

typedef struct line_input line_input;

/* stdin a terminal (and `plain` false): libedit; else lines of stdin. */
mkv_status line_input_open(bool plain, line_input **out);
bool line_input_interactive(const line_input *in);
/* The next line without its newline, NUL-ended, owned by `in` until the next
 * call; NULL at the end of the input (Ctrl-D on an empty line). */
const char *line_input_read(line_input *in, const char *prompt);
void line_input_close(line_input *in);

/* SIGINT sets a flag (no SA_RESTART: a blocking read returns EINTR);
 * interrupt_restore puts the previous handler back. */
void interrupt_install(void);
void interrupt_restore(void);
/* Whether Ctrl-C was pressed since the last call (and clears it). */
bool interrupt_take(void);
bool interrupt_pending(void);

#endif
