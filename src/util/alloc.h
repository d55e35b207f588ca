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

/* mkv_malloc, mkv_free, the counters (mkv_alloc_current_bytes,
 * mkv_alloc_peak_bytes), the limit (mkv_alloc_set_limit, mkv_alloc_limit)
 * and mkv_peak_rss_bytes are public (maskkv.h). */
void *mkv_calloc(size_t count, size_t size, const char *what);
void *mkv_realloc(void *ptr, size_t bytes, const char *what);
void mkv_alloc_reset_peak(void);
/* Test hook: the n-th allocation from now fails (n >= 1); 0 disables. */
void mkv_alloc_fail_after(long n);

#endif
