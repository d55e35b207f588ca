#include "cache/cold_store.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kernels/kernels.h"
#include "util/alloc.h"

/* Region of one (layer, head), page aligned:
 *   int8 k[capacity][hd] | int8 v[capacity][hd] | float k_scale[capacity] |
 *   float v_scale[capacity] | int32 position[capacity] */
struct mkv_cold_store {
    mkv_cold_mode mode;
    int n_layers, n_kv_heads, head_dim, capacity;
    size_t region_bytes, reserved;
    uint8_t *base;    /* file: the mapping; ram: mkv_malloc'ed */
    int *n_rows;      /* [n_layers * n_kv_heads] */
};

static const char *const mode_names[] = {"off", "file", "ram"};

const char *mkv_cold_mode_name(mkv_cold_mode mode) {
    return (int)mode >= 0 && (int)mode < 3 ? mode_names[mode] : "?";
}

bool mkv_cold_mode_from_name(const char *name, mkv_cold_mode *out) {
    for (int i = 0; name && i < 3; i++)
        if (!strcmp(name, mode_names[i])) {
            *out = (mkv_cold_mode)i;
            return true;
        }
    return false;
}

/* roundf (half away from zero) of a finite |r| < 2^24, without the call:
 * r - trunc(r) is exact. NaN gives 0. */
static inline int round_half_away(float r) {
    if (!(fabsf(r) < 16777216.0f)) return r > 0 ? 16777216 : (r < 0 ? -16777216 : 0);
    int i = (int)r;
    float frac = r - (float)i;
    return i + (frac >= 0.5f) - (frac <= -0.5f);
}

float mkv_cold_quantize_row(const float *restrict x, int n, int8_t *restrict q) {
    float max = 0;
    for (int i = 0; i < n; i++) { /* fmaxf without the call: a NaN never wins */
        float a = fabsf(x[i]);
        max = a > max ? a : max;
    }
    if (!(max > 0) || !isfinite(max)) {
        memset(q, 0, (size_t)n);
        return 0;
    }
    float scale = max / 127.0f, inv = 127.0f / max;
    for (int i = 0; i < n; i++) {
        int r = round_half_away(x[i] * inv);
        q[i] = (int8_t)(r > 127 ? 127 : (r < -127 ? -127 : r));
    }
    return scale;
}

void mkv_cold_dequantize_row(const int8_t *restrict q, float scale, int n, float *restrict x) {
    int i = 0;
    for (; i + 16 <= n; i += 16) /* fixed-length inner loop: -O2 vectorizes it */
        for (int e = 0; e < 16; e++) x[i + e] = scale * (float)q[i + e];
    for (; i < n; i++) x[i] = scale * (float)q[i];
}

typedef struct {
    int8_t *k, *v;
    float *k_scale, *v_scale;
    int32_t *position;
} region_view;

static region_view region(const mkv_cold_store *s, int layer, int head) {
    uint8_t *r = s->base + ((size_t)layer * s->n_kv_heads + head) * s->region_bytes;
    size_t cap = (size_t)s->capacity, hd = (size_t)s->head_dim;
    region_view v;
    v.k = (int8_t *)r;
    v.v = (int8_t *)(r + cap * hd);
    v.k_scale = (float *)(r + 2 * cap * hd + (4 - (2 * cap * hd) % 4) % 4);
    v.v_scale = v.k_scale + cap;
    v.position = (int32_t *)(v.v_scale + cap);
    return v;
}

/* A temporary file that has no name from the moment it exists. */
static mkv_status map_anonymous_file(size_t bytes, uint8_t **out) {
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    char path[4096];
    if (snprintf(path, sizeof path, "%s/maskkv-cold-XXXXXX", dir) >= (int)sizeof path)
        return mkv_fail(MKV_ERR_IO, "cold store: TMPDIR path too long");
    int fd = mkstemp(path);
    if (fd < 0) return mkv_fail(MKV_ERR_IO, "cold store: cannot create a temporary file in %s: %s", dir, strerror(errno));
    unlink(path); /* gone from the directory now; freed when the mapping goes */
    int err = posix_fallocate(fd, 0, (off_t)bytes);
    if (err) {
        close(fd);
        return mkv_fail(MKV_ERR_IO, "cold store: cannot reserve %.1f MiB in %s: %s", (double)bytes / 1048576.0, dir,
                        strerror(err));
    }
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int map_errno = errno;
    close(fd);
    if (p == MAP_FAILED)
        return mkv_fail(MKV_ERR_NOMEM, "cold store: cannot map %.1f MiB: %s", (double)bytes / 1048576.0, strerror(map_errno));
    *out = p;
    return MKV_OK;
}

mkv_status mkv_cold_store_create(mkv_cold_mode mode, int n_layers, int n_kv_heads, int head_dim, int capacity,
                                 mkv_cold_store **out) {
    *out = NULL;
    if (mode != MKV_COLD_FILE && mode != MKV_COLD_RAM) return mkv_fail(MKV_ERR_USAGE, "cold store: no mode");
    if (n_layers < 1 || n_kv_heads < 1 || head_dim < 1 || capacity < 0)
        return mkv_fail(MKV_ERR_INPUT, "cold store: bad shape");
    mkv_cold_store *s = mkv_calloc(1, sizeof *s, "cold store");
    if (!s) return mkv_last_status();
    s->mode = mode;
    s->n_layers = n_layers;
    s->n_kv_heads = n_kv_heads;
    s->head_dim = head_dim;
    s->capacity = capacity;
    size_t cap = (size_t)(capacity ? capacity : 1), hd = (size_t)head_dim;
    size_t bytes = 2 * cap * hd + 4 + cap * (2 * sizeof(float) + sizeof(int32_t));
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    s->region_bytes = (bytes + page - 1) / page * page;
    s->reserved = s->region_bytes * (size_t)n_layers * (size_t)n_kv_heads;
    s->n_rows = mkv_calloc((size_t)n_layers * n_kv_heads, sizeof(int), "cold store rows");
    mkv_status st = s->n_rows ? MKV_OK : mkv_last_status();
    if (st == MKV_OK && mode == MKV_COLD_FILE) st = map_anonymous_file(s->reserved, &s->base);
    if (st == MKV_OK && mode == MKV_COLD_RAM) {
        s->base = mkv_malloc(s->reserved, "cold store (ram)");
        if (!s->base) st = mkv_last_status();
    }
    if (st != MKV_OK) {
        mkv_cold_store_free(s);
        return st;
    }
    *out = s;
    return MKV_OK;
}

void mkv_cold_store_free(mkv_cold_store *s) {
    if (!s) return;
    if (s->base && s->mode == MKV_COLD_FILE) munmap(s->base, s->reserved);
    if (s->base && s->mode == MKV_COLD_RAM) mkv_free(s->base);
    mkv_free(s->n_rows);
    mkv_free(s);
}

static void put_row(const mkv_cold_store *s, region_view r, int slot, int32_t position, const float *k, const float *v) {
    size_t hd = (size_t)s->head_dim;
    r.k_scale[slot] = mkv_cold_quantize_row(k, s->head_dim, r.k + (size_t)slot * hd);
    r.v_scale[slot] = mkv_cold_quantize_row(v, s->head_dim, r.v + (size_t)slot * hd);
    r.position[slot] = position;
}

/* How many of the increasing keep[] are below p. */
static int kept_below(const int32_t *keep, int n_keep, int p) {
    int lo = 0, hi = n_keep;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (keep[mid] < p) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

mkv_status mkv_cold_capture(mkv_cold_store *s, int layer, int head, const float *k_full, const float *v_full, int n_rows,
                            const int32_t *keep, int n_keep) {
    if (layer < 0 || layer >= s->n_layers || head < 0 || head >= s->n_kv_heads)
        return mkv_fail(MKV_ERR_INPUT, "cold store: layer %d head %d out of range", layer, head);
    if (n_rows - n_keep > s->capacity || n_keep > n_rows)
        return mkv_fail(MKV_ERR_INPUT, "cold store: %d evicted rows exceed its %d slots", n_rows - n_keep, s->capacity);
    region_view r = region(s, layer, head);
    size_t hd = (size_t)s->head_dim;
    /* the evicted rows in position order; each one's slot is known from the
     * kept rows before it, so the rows are quantized in parallel chunks */
    enum { CHUNK = 256 };
    int n_chunks = (n_rows + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static) if (n_rows >= 4 * CHUNK)
    for (int c = 0; c < n_chunks; c++) {
        int p0 = c * CHUNK, p1 = p0 + CHUNK < n_rows ? p0 + CHUNK : n_rows;
        int j = kept_below(keep, n_keep, p0), slot = p0 - j;
        for (int p = p0; p < p1; p++) {
            if (j < n_keep && keep[j] == p) {
                j++;
                continue;
            }
            put_row(s, r, slot++, p, k_full + (size_t)p * hd, v_full + (size_t)p * hd);
        }
    }
    int n = n_rows - kept_below(keep, n_keep, n_rows);
    s->n_rows[layer * s->n_kv_heads + head] = n;
    mkv_cold_release_head(s, layer, head);
    return MKV_OK;
}

int mkv_cold_rows(const mkv_cold_store *s, int layer, int head) { return s->n_rows[layer * s->n_kv_heads + head]; }

int32_t mkv_cold_position(const mkv_cold_store *s, int layer, int head, int slot) {
    return region(s, layer, head).position[slot];
}

void mkv_cold_get(const mkv_cold_store *s, int layer, int head, int slot, float *k, float *v) {
    region_view r = region(s, layer, head);
    size_t hd = (size_t)s->head_dim;
    mkv_cold_dequantize_row(r.k + (size_t)slot * hd, r.k_scale[slot], s->head_dim, k);
    if (v) mkv_cold_dequantize_row(r.v + (size_t)slot * hd, r.v_scale[slot], s->head_dim, v);
}

void mkv_cold_get_keys(const mkv_cold_store *s, int layer, int head, int first, int n, float *k) {
    region_view r = region(s, layer, head);
    size_t hd = (size_t)s->head_dim;
    for (int i = 0; i < n; i++)
        mkv_cold_dequantize_row(r.k + (size_t)(first + i) * hd, r.k_scale[first + i], s->head_dim, k + (size_t)i * hd);
}

void mkv_cold_get_keys_bf16(const mkv_cold_store *s, int layer, int head, int first, int n, uint16_t *k) {
    region_view r = region(s, layer, head);
    size_t hd = (size_t)s->head_dim;
    for (int i = 0; i < n; i++)
        mkv_dequantize_i8_to_bf16(r.k + (size_t)(first + i) * hd, r.k_scale[first + i], s->head_dim, k + (size_t)i * hd);
}

void mkv_cold_set(mkv_cold_store *s, int layer, int head, int slot, int32_t position, const float *k, const float *v) {
    put_row(s, region(s, layer, head), slot, position, k, v);
}

void mkv_cold_release_head(mkv_cold_store *s, int layer, int head) {
    if (s->mode != MKV_COLD_FILE) return;
    madvise(s->base + ((size_t)layer * s->n_kv_heads + head) * s->region_bytes, s->region_bytes, MADV_DONTNEED);
}

int64_t mkv_cold_total_rows(const mkv_cold_store *s) {
    int64_t total = 0;
    for (int i = 0; i < s->n_layers * s->n_kv_heads; i++) total += s->n_rows[i];
    return total;
}

size_t mkv_cold_bytes(const mkv_cold_store *s) {
    size_t row = 2 * (size_t)s->head_dim + 2 * sizeof(float) + sizeof(int32_t);
    return (size_t)mkv_cold_total_rows(s) * row;
}

size_t mkv_cold_reserved_bytes(const mkv_cold_store *s) { return s->reserved; }
mkv_cold_mode mkv_cold_store_mode(const mkv_cold_store *s) { return s->mode; }
