/* Thread-local "last error" used by every fallible function of the library. */
#include <stdarg.h>
#include <stdio.h>

#include "maskkv.h"

static _Thread_local char last_error_message[1024];
static _Thread_local mkv_status last_error_status;

const char *mkv_last_error(void) { return last_error_message; }
mkv_status mkv_last_status(void) { return last_error_status; }

void mkv_clear_error(void) {
    last_error_message[0] = '\0';
    last_error_status = MKV_OK;
}

mkv_status mkv_fail(mkv_status status, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vsnprintf(last_error_message, sizeof last_error_message, fmt, args);
    va_end(args);
    /* Keep the message on one line whatever the caller formatted into it. */
    for (char *c = last_error_message; *c; c++)
        if (*c == '\n' || *c == '\r') *c = ' ';
    last_error_status = status;
    return status;
}
