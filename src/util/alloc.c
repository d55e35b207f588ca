#include "util/alloc.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* Each block carries its size in a 64-byte header (keeps SIMD alignment). */
#define HEADER_BYTES 64

static atomic_size_t current_bytes;
static atomic_size_t peak_bytes;
static size_t limit_bytes;
static atomic_long fail_countdown;

static void note_alloc(size_t bytes) {
    size_t now = atomic_fetch_add(&current_bytes, bytes) + bytes;
    size_t peak = atomic_load(&peak_bytes);
    while (now > peak && !atomic_compare_exchange_weak(&peak_bytes, &peak, now)) {
    }
}

static int refuse(size_t bytes, const char *what) {
    long n = atomic_load(&fail_countdown);
    if (n > 0 && atomic_fetch_sub(&fail_countdown, 1) == 1) {
        mkv_fail(MKV_ERR_NOMEM, "out of memory allocating %zu bytes for %s (injected failure)", bytes,
                 what ? what : "buffer");
        return 1;
    }
    if (limit_bytes && atomic_load(&current_bytes) + bytes > limit_bytes) {
        mkv_fail(MKV_ERR_NOMEM, "allocating %zu bytes for %s would exceed the memory limit of %zu bytes", bytes,
                 what ? what : "buffer", limit_bytes);
        return 1;
    }
    return 0;
}

void *mkv_malloc(size_t bytes, const char *what) {
    if (bytes > SIZE_MAX - HEADER_BYTES) {
        mkv_fail(MKV_ERR_NOMEM, "allocation of %zu bytes for %s is too large", bytes, what ? what : "buffer");
        return NULL;
    }
    if (refuse(bytes, what)) return NULL;
    unsigned char *block = NULL;
    if (posix_memalign((void **)&block, HEADER_BYTES, bytes + HEADER_BYTES) != 0 || !block) {
        mkv_fail(MKV_ERR_NOMEM, "out of memory allocating %zu bytes for %s", bytes, what ? what : "buffer");
        return NULL;
    }
    memcpy(block, &bytes, sizeof bytes);
    note_alloc(bytes);
    return block + HEADER_BYTES;
}

void *mkv_calloc(size_t count, size_t size, const char *what) {
    if (size && count > SIZE_MAX / size) {
        mkv_fail(MKV_ERR_NOMEM, "allocation of %zu x %zu bytes for %s overflows", count, size, what ? what : "buffer");
        return NULL;
    }
    void *p = mkv_malloc(count * size, what);
    if (p) memset(p, 0, count * size);
    return p;
}

void mkv_free(void *ptr) {
    if (!ptr) return;
    unsigned char *block = (unsigned char *)ptr - HEADER_BYTES;
    size_t bytes;
    memcpy(&bytes, block, sizeof bytes);
    atomic_fetch_sub(&current_bytes, bytes);
    free(block);
}

void *mkv_realloc(void *ptr, size_t bytes, const char *what) {
    if (!ptr) return mkv_malloc(bytes, what);
    size_t old;
    memcpy(&old, (unsigned char *)ptr - HEADER_BYTES, sizeof old);
    void *fresh = mkv_malloc(bytes, what);
    if (!fresh) return NULL;
    memcpy(fresh, ptr, old < bytes ? old : bytes);
    mkv_free(ptr);
    return fresh;
}

size_t mkv_alloc_current_bytes(void) { return atomic_load(&current_bytes); }
size_t mkv_alloc_peak_bytes(void) { return atomic_load(&peak_bytes); }
void mkv_alloc_reset_peak(void) { atomic_store(&peak_bytes, atomic_load(&current_bytes)); }
void mkv_alloc_set_limit(size_t max_bytes) { limit_bytes = max_bytes; }
size_t mkv_alloc_limit(void) { return limit_bytes; }
void mkv_alloc_fail_after(long n) { atomic_store(&fail_countdown, n); }

size_t mkv_peak_rss_bytes(void) {
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
    return (size_t)usage.ru_maxrss * 1024u;
}
