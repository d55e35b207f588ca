/* live_text.h */
#include "live_text.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <wchar.h>


static int terminal_width(FILE *out) {
    struct winsize ws;
    if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    return 80;
}

/* Writes text, returns the rows it covers from column 0 at `width`. */
static int put_text(FILE *out, const char *text, size_t len, int width) {
    const unsigned char *u = (const unsigned char *)text;
    int rows = 1, col = 0;
    mbstate_t state;
    for (size_t i = 0; i < len;) {
        wchar_t wc = 0;
        memset(&state, 0, sizeof state);
        size_t got = mbrtowc(&wc, text + i, len - i, &state); /* the chat runs in a UTF-8 locale */
        bool bad = got == (size_t)-1 || got == (size_t)-2;
        int n = bad ? 1 : got == 0 ? 1 : (int)got;
        uint32_t cp = bad ? 0xFFFD : (uint32_t)wc;
        if (cp == '\n') {
            fputc('\n', out);
            rows++, col = 0;
        } else {
            int w = cp == '\t' ? 8 - col % 8 : cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0) ? 1 : wcwidth((wchar_t)cp);
            if (w < 0) w = 1;
            if (col + w > width) rows++, col = 0;
            col += w;
            if (bad || (cp < 0x20 && cp != '\t') || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) fputs("\xEF\xBF\xBD", out);
            else fwrite(u + i, 1, (size_t)n, out);
        }
        i += (size_t)n;
    }
    return rows;
}

void live_text_start(live_text *v, FILE *out) {
    v->out = out;
    v->rows = 0;
}

void live_text_draw(live_text *v, const char *text, size_t len) {
    if (v->rows > 1) fprintf(v->out, "\r\033[%dA\033[J", v->rows - 1);
    else if (v->rows == 1) fputs("\r\033[J", v->out);
    v->rows = put_text(v->out, text, len, terminal_width(v->out));
    fflush(v->out);
}

void live_text_end(live_text *v) {
    if (v->rows > 0) fputc('\n', v->out);
    fflush(v->out);
    v->rows = 0;
}

void live_text_write(FILE *out, const char *text, size_t len) { put_text(out, text, len, terminal_width(out)); }
