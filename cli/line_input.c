/* line_input.h: libedit (histedit.h) on a terminal, getline otherwise. */
#include "line_input.h"

#include <errno.h>
#include <histedit.h>
#include <locale.h>
#include <langinfo.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#define HISTORY_SIZE 500

struct line_input {
    EditLine *el; /* NULL: plain lines */
    History *history;
    const char *prompt;
    char *line; /* getline's buffer, or a copy of libedit's line */
    wchar_t pending; /* a character read after a Ctrl-C, returned after the kill-line */
    size_t cap;
};

static volatile sig_atomic_t interrupted;
static struct sigaction previous_sigint;
static bool installed;

static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

void interrupt_install(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: the read waiting for a key returns EINTR */
    if (sigaction(SIGINT, &sa, &previous_sigint) == 0) installed = true;
    interrupted = 0;
}

void interrupt_restore(void) {
    if (installed) sigaction(SIGINT, &previous_sigint, NULL);
    installed = false;
}

bool interrupt_take(void) {
    bool was = interrupted != 0;
    interrupted = 0;
    return was;
}

bool interrupt_pending(void) { return interrupted != 0; }

static char *prompt_of(EditLine *el) {
    line_input *in = NULL;
    el_get(el, EL_CLIENTDATA, &in);
    return (char *)(in && in->prompt ? in->prompt : "");
}

/* libedit's character reader: one UTF-8 character from stdin; Ctrl-C (the
 * flag set, by an EINTR or while a character arrived) becomes ^U, libedit's
 * kill-line: the line is cleared, and a character typed after the Ctrl-C
 * comes next. */
static int read_char(EditLine *el, wchar_t *out) {
    line_input *in = NULL;
    el_get(el, EL_CLIENTDATA, &in);
    if (in && in->pending) {
        *out = in->pending;
        in->pending = 0;
        return 1;
    }
    unsigned char bytes[4];
    int need = 1;
    for (int have = 0; have < need;) {
        ssize_t r = read(STDIN_FILENO, bytes + have, 1);
        if (r == 0) return 0;
        if (r < 0) {
            if (errno != EINTR) return -1;
            if (interrupt_take()) {
                *out = 0x15;
                return 1;
            }
            continue;
        }
        if (have == 0) {
            unsigned char b = bytes[0];
            need = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 1;
        } else if ((bytes[have] & 0xC0) != 0x80) {
            need = 1; /* a broken sequence: keep its first byte only */
            bytes[0] = 0x3F;
            break;
        }
        have++;
    }
    uint32_t cp = need == 1 ? bytes[0] : need == 2 ? (bytes[0] & 0x1Fu) : need == 3 ? (bytes[0] & 0x0Fu) : (bytes[0] & 0x07u);
    for (int k = 1; k < need; k++) cp = cp << 6 | (bytes[k] & 0x3Fu);
    *out = (wchar_t)cp;
    if (in && interrupt_take()) { /* Ctrl-C came before this character */
        in->pending = *out;
        *out = 0x15;
    }
    return 1;
}

/* libedit encodes wide characters by the locale: a UTF-8 one is needed. */
static void use_utf8_locale(void) {
    const char *set = setlocale(LC_CTYPE, "");
    if (!set || strcmp(nl_langinfo(CODESET), "UTF-8") != 0) setlocale(LC_CTYPE, "C.UTF-8");
}

mkv_status line_input_open(bool plain, line_input **out) {
    line_input *in = mkv_malloc(sizeof *in, "line input");
    if (!in) return mkv_last_status();
    memset(in, 0, sizeof *in);
    if (!plain && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
        use_utf8_locale();
        in->el = el_init("maskkv", stdin, stdout, stderr);
        in->history = history_init();
        if (!in->el || !in->history) {
            line_input_close(in);
            return mkv_fail(MKV_ERR_NOMEM, "libedit: cannot initialise the line editor");
        }
        HistEvent ev;
        history(in->history, &ev, H_SETSIZE, HISTORY_SIZE);
        history(in->history, &ev, H_SETUNIQUE, 1);
        el_set(in->el, EL_CLIENTDATA, in);
        el_set(in->el, EL_PROMPT, prompt_of);
        el_set(in->el, EL_EDITOR, "emacs");
        el_set(in->el, EL_HIST, history, in->history);
        el_set(in->el, EL_GETCFN, read_char);
        el_source(in->el, NULL); /* ~/.editrc, as other libedit programs */
    }
    *out = in;
    return MKV_OK;
}

bool line_input_interactive(const line_input *in) { return in->el != NULL; }

static bool keep(line_input *in, const char *s, size_t n) {
    if (n + 1 > in->cap) {
        char *grown = mkv_malloc(n + 1, "input line");
        if (!grown) return false;
        mkv_free(in->line);
        in->line = grown;
        in->cap = n + 1;
    }
    memcpy(in->line, s, n);
    in->line[n] = '\0';
    return true;
}

const char *line_input_read(line_input *in, const char *prompt) {
    if (!in->el) {
        ssize_t n;
        char *buf = NULL;
        size_t cap = 0;
        do {
            errno = 0;
            n = getline(&buf, &cap, stdin);
        } while (n < 0 && errno == EINTR && !feof(stdin)); /* Ctrl-C while waiting: ignored, as a terminal's clear */
        if (n < 0) {
            free(buf);
            return NULL;
        }
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) n--;
        bool ok = keep(in, buf, (size_t)n);
        free(buf);
        return ok ? in->line : NULL;
    }
    in->prompt = prompt;
    int count = 0;
    const char *line = el_gets(in->el, &count);
    if (!line || count <= 0) return NULL;
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
    if (!keep(in, line, n)) return NULL;
    if (n > 0) {
        HistEvent ev;
        history(in->history, &ev, H_ENTER, in->line);
    }
    return in->line;
}

void line_input_close(line_input *in) {
    if (!in) return;
    if (in->el) el_end(in->el);
    if (in->history) history_end(in->history);
    mkv_free(in->line);
    mkv_free(in);
}
