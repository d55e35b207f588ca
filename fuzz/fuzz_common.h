/* Helpers shared by the libFuzzer targets (fuzz/fuzz_*.c).
 *
 * Every target checks the library's contract on hostile input: no crash, no
 * out-of-bounds access, no leak (AddressSanitizer + LeakSanitizer), no
 * undefined behaviour (UBSan), a one-line error message on failure, and the
 * counted allocations (src/util/alloc.c) back to where they started after the
 * handle is freed. A violated contract calls abort() so libFuzzer saves the
 * input as a crash. */
#ifndef MKV_FUZZ_COMMON_H
#define MKV_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maskkv.h"
#include "util/alloc.h"

#ifndef MKV_SOURCE_ROOT
#define MKV_SOURCE_ROOT "."
#endif

#define FUZZ_ASSERT(cond, ...)                                                       \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "fuzz contract violated at %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                            \
            fprintf(stderr, "\n");                                                   \
            abort();                                                                 \
        }                                                                            \
    } while (0)

/* A failed call must leave exactly one non-empty line in mkv_last_error() and
 * a status that is one of the documented exit codes. */
static inline void fuzz_check_error(mkv_status st) {
    if (st == MKV_OK) return;
    FUZZ_ASSERT(st == MKV_ERR_USAGE || st == MKV_ERR_IO || st == MKV_ERR_FORMAT || st == MKV_ERR_UNSUPPORTED ||
                    st == MKV_ERR_INPUT || st == MKV_ERR_NOMEM,
                "status %d", (int)st);
    const char *msg = mkv_last_error();
    FUZZ_ASSERT(msg[0] != '\0', "empty error message for status %d", (int)st);
    FUZZ_ASSERT(strchr(msg, '\n') == NULL, "multi-line error message: %s", msg);
}

/* Counted bytes must return to the level seen before the call. */
#define FUZZ_CHECK_NO_COUNTED_LEAK(before)                                           \
    FUZZ_ASSERT(mkv_alloc_current_bytes() == (before), "%zu counted bytes leaked",   \
                mkv_alloc_current_bytes() - (before))

/* A NUL-terminated copy of the input (malloc'd; plain malloc so it is not
 * part of the counted bytes). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) abort();
    if (size) memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Path of a file of the source tree (seed tokenizers, models). The tree is
 * the one the target was built from, or $MKV_SOURCE_ROOT. */
static inline const char *fuzz_source_path(const char *relative) {
    static char path[4][4096];
    static int slot;
    slot = (slot + 1) % 4;
    const char *root = getenv("MKV_SOURCE_ROOT");
    snprintf(path[slot], sizeof path[slot], "%s/%s", root && root[0] ? root : MKV_SOURCE_ROOT, relative);
    return path[slot];
}

/* Reads up to `size` bytes from the cursor; the consumed prefix is removed. */
typedef struct {
    const uint8_t *data;
    size_t size;
} fuzz_input;

static inline uint8_t fuzz_u8(fuzz_input *in) {
    if (in->size == 0) return 0;
    uint8_t v = in->data[0];
    in->data++;
    in->size--;
    return v;
}

#endif
