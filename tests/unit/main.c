/* Test runner: runs the registered tests, prints each failure, and ends with
 * "N passed, N failed"; exit status 1 when any test failed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

typedef struct {
    const char *name;
    const char *file;
    mkv_test_fn fn;
} registered_test;

static registered_test tests[1024];
static int n_tests;
static int current_failures;
static jmp_buf current_abort;
static char tests_dir[1024] = "tests";

void mkv_test_register(const char *name, const char *file, mkv_test_fn fn) {
    if (n_tests < (int)(sizeof tests / sizeof tests[0])) tests[n_tests++] = (registered_test){name, file, fn};
}

void mkv_test_fail(const char *file, int line, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    fprintf(stderr, "  %s:%d: ", file, line);
    vfprintf(stderr, fmt, args);
    fprintf(stderr, "\n");
    va_end(args);
    current_failures++;
}

void mkv_test_abort_current(void) { longjmp(current_abort, 1); }

static const char *current_skip;

void mkv_test_skip(const char *why) {
    current_skip = why;
    longjmp(current_abort, 1);
}

const char *mkv_test_path(const char *relative) {
    static _Thread_local char path[4][2048];
    static _Thread_local int slot;
    slot = (slot + 1) % 4;
    snprintf(path[slot], sizeof path[slot], "%s/%s", tests_dir, relative);
    return path[slot];
}

static int by_file_then_name(const void *a, const void *b) {
    const registered_test *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    return c ? c : strcmp(x->name, y->name);
}

int main(int argc, char **argv) {
    const char *filter = argc > 1 ? argv[1] : NULL;
    const char *env_dir = getenv("MKV_TESTS_DIR");
    if (env_dir) snprintf(tests_dir, sizeof tests_dir, "%s", env_dir);
    else if (access("tests/unit/main.c", F_OK) != 0 && access("../tests/unit/main.c", F_OK) == 0)
        snprintf(tests_dir, sizeof tests_dir, "../tests");
    qsort(tests, (size_t)n_tests, sizeof tests[0], by_file_then_name);
    int passed = 0, failed = 0, skipped = 0;
    for (int i = 0; i < n_tests; i++) {
        if (filter && !strstr(tests[i].name, filter)) continue;
        current_failures = 0;
        current_skip = NULL;
        if (setjmp(current_abort) == 0) tests[i].fn();
        if (current_skip && !current_failures) {
            printf("skip %s: %s\n", tests[i].name, current_skip);
            skipped++;
        } else if (current_failures) {
            fprintf(stderr, "FAIL %s (%s)\n", tests[i].name, tests[i].file);
            failed++;
        } else {
            printf("ok   %s\n", tests[i].name);
            passed++;
        }
        fflush(stdout);
    }
    printf("%d passed, %d failed, %d skipped (hardware this CPU lacks)\n", passed, failed, skipped);
    return failed ? 1 : 0;
}
