/* Counted allocations. Every buffer of the engine (workspaces, KV stores,
 * attention tiles) goes through here, so that
 *  - `--json` can report bytes held by each category and the peak,
 *  - tests can assert bounds on bytes allocated (e.g. MaskKV never holds the
 *    full prompt KV of all layers),
 *  - `--max-memory` refuses allocations past a bound, and tests can inject an
 *    allocation failure (out-of-memory is a tested path).
 * On failure these set the last error (MKV_ERR_NOMEM, naming `what`) and
 * return NULL. */
#ifndef MKV_ALLOC_H
#define MKV_ALLOC_H

#include <stddef.h>

#include "maskkv.h"

void *mkv_malloc(size_t bytes, const char *what);
void *mkv_calloc(size_t count, size_t size, const char *what);
void *mkv_realloc(void *ptr, size_t bytes, const char *what);
void mkv_free(void *ptr);

size_t mkv_alloc_current_bytes(void);
size_t mkv_alloc_peak_bytes(void);
void mkv_alloc_reset_peak(void);
/* 0 = unlimited. */
void mkv_alloc_set_limit(size_t max_bytes);
size_t mkv_alloc_limit(void);
/* Test hook: the n-th allocation from now fails (n >= 1); 0 disables. */
void mkv_alloc_fail_after(long n);

/* Peak resident set size of the process, in bytes (from getrusage). */
size_t mkv_peak_rss_bytes(void);

#endif
