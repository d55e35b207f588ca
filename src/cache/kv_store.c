#include "cache/kv_store.h"

#include <string.h>

#include "util/alloc.h"
#include "util/fp16.h"

size_t mkv_kv_elem_bytes(const mkv_kv_store *s) { return s->dtype == MKV_TYPE_BF16 ? sizeof(uint16_t) : sizeof(float); }

static size_t head_bytes(const mkv_kv_store *s, int n_fixed) {
    return 2 * (size_t)(n_fixed + s->n_dyn) * (size_t)s->head_dim * mkv_kv_elem_bytes(s) + (size_t)n_fixed * sizeof(int32_t);
}

/* Element offset -> byte pointer into a k or v buffer. */
static unsigned char *at(const mkv_kv_store *s, void *buffer, size_t elements) {
    return (unsigned char *)buffer + elements * mkv_kv_elem_bytes(s);
}

void mkv_kv_read_row(const mkv_kv_store *s, const void *buffer, int row, float *out) {
    const size_t hd = (size_t)s->head_dim;
    if (s->dtype == MKV_TYPE_BF16) {
        const uint16_t *src = (const uint16_t *)buffer + (size_t)row * hd;
        for (size_t c = 0; c < hd; c++) out[c] = mkv_bf16_to_f32(src[c]);
    } else {
        memcpy(out, (const float *)buffer + (size_t)row * hd, hd * sizeof(float));
    }
}

void mkv_kv_write_row(const mkv_kv_store *s, void *buffer, int row, const float *values) {
    const size_t hd = (size_t)s->head_dim;
    if (s->dtype == MKV_TYPE_BF16) {
        uint16_t *dst = (uint16_t *)buffer + (size_t)row * hd;
        for (size_t c = 0; c < hd; c++) dst[c] = mkv_f32_to_bf16(values[c]);
    } else {
        memcpy((float *)buffer + (size_t)row * hd, values, hd * sizeof(float));
    }
}

static void note_bytes(mkv_kv_store *s, size_t add, size_t sub) {
    s->bytes = s->bytes + add - sub;
    if (s->bytes > s->peak_bytes) s->peak_bytes = s->bytes;
}

static mkv_status head_alloc(mkv_kv_store *s, mkv_kv_head *h, int n_fixed) {
    size_t rows = (size_t)(n_fixed + s->n_dyn) * (size_t)s->head_dim;
    h->k = mkv_calloc(rows ? rows : 1, mkv_kv_elem_bytes(s), "KV cache keys");
    h->v = mkv_calloc(rows ? rows : 1, mkv_kv_elem_bytes(s), "KV cache values");
    h->fixed_positions = mkv_malloc((size_t)(n_fixed ? n_fixed : 1) * sizeof(int32_t), "KV cache positions");
    if (!h->k || !h->v || !h->fixed_positions) {
        mkv_free(h->k);
        mkv_free(h->v);
        mkv_free(h->fixed_positions);
        h->k = h->v = NULL;
        h->fixed_positions = NULL;
        return MKV_ERR_NOMEM;
    }
    h->n_fixed = n_fixed;
    for (int i = 0; i < n_fixed; i++) h->fixed_positions[i] = i;
    note_bytes(s, head_bytes(s, n_fixed), 0);
    return MKV_OK;
}

static void head_release(mkv_kv_store *s, mkv_kv_head *h) {
    if (!h->k) return;
    note_bytes(s, 0, head_bytes(s, h->n_fixed));
    mkv_free(h->k);
    mkv_free(h->v);
    mkv_free(h->fixed_positions);
    h->k = h->v = NULL;
    h->fixed_positions = NULL;
    h->n_fixed = 0;
}

mkv_status mkv_kv_store_init(mkv_kv_store *s, int n_layers, int n_kv_heads, int head_dim, int dyn_start, int n_dyn,
                             bool lazy) {
    return mkv_kv_store_init_dtype(s, n_layers, n_kv_heads, head_dim, dyn_start, n_dyn, lazy, MKV_TYPE_F32);
}

mkv_status mkv_kv_store_init_dtype(mkv_kv_store *s, int n_layers, int n_kv_heads, int head_dim, int dyn_start,
                                   int n_dyn, bool lazy, mkv_dtype dtype) {
    memset(s, 0, sizeof *s);
    if (dtype != MKV_TYPE_F32 && dtype != MKV_TYPE_BF16) return mkv_fail(MKV_ERR_INPUT, "KV cache elements must be f32 or bf16");
    s->dtype = dtype;
    s->n_layers = n_layers;
    s->n_kv_heads = n_kv_heads;
    s->head_dim = head_dim;
    s->dyn_start = dyn_start;
    s->n_dyn = n_dyn;
    s->layers = mkv_calloc((size_t)n_layers, sizeof *s->layers, "KV cache layers");
    if (!s->layers) return MKV_ERR_NOMEM;
    for (int l = 0; l < n_layers; l++) {
        s->layers[l].heads = mkv_calloc((size_t)n_kv_heads, sizeof(mkv_kv_head), "KV cache heads");
        if (!s->layers[l].heads) {
            mkv_kv_store_free(s);
            return MKV_ERR_NOMEM;
        }
        for (int h = 0; h < n_kv_heads && !lazy; h++) {
            if (head_alloc(s, &s->layers[l].heads[h], dyn_start) != MKV_OK) {
                mkv_kv_store_free(s);
                return MKV_ERR_NOMEM;
            }
        }
    }
    return MKV_OK;
}

void mkv_kv_store_free(mkv_kv_store *s) {
    if (!s->layers) return;
    for (int l = 0; l < s->n_layers; l++) {
        if (!s->layers[l].heads) continue;
        for (int h = 0; h < s->n_kv_heads; h++) head_release(s, &s->layers[l].heads[h]);
        mkv_free(s->layers[l].heads);
    }
    mkv_free(s->layers);
    s->layers = NULL;
}

int mkv_kv_row(const mkv_kv_store *s, int layer, int head, int position) {
    const mkv_kv_head *h = &s->layers[layer].heads[head];
    if (position >= s->dyn_start) return h->n_fixed + (position - s->dyn_start);
    if (h->n_fixed == s->dyn_start) return position; /* full prompt: identity */
    /* binary search among the kept positions */
    int lo = 0, hi = h->n_fixed - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (h->fixed_positions[mid] == position) return mid;
        if (h->fixed_positions[mid] < position) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

mkv_status mkv_kv_layer_reset_full(mkv_kv_store *s, int layer) {
    for (int h = 0; h < s->n_kv_heads; h++) {
        mkv_kv_head *head = &s->layers[layer].heads[h];
        if (!head->k) {
            mkv_status st = head_alloc(s, head, s->dyn_start);
            if (st != MKV_OK) return st;
            continue;
        }
        if (head->n_fixed == s->dyn_start) continue;
        /* the dynamic rows move behind the restored prompt rows */
        mkv_kv_head fresh = {0};
        mkv_status st = head_alloc(s, &fresh, s->dyn_start);
        if (st != MKV_OK) return st;
        const size_t dyn_bytes = (size_t)s->n_dyn * (size_t)s->head_dim * mkv_kv_elem_bytes(s);
        const size_t hd = (size_t)s->head_dim;
        memcpy(at(s, fresh.k, (size_t)s->dyn_start * hd), at(s, head->k, (size_t)head->n_fixed * hd), dyn_bytes);
        memcpy(at(s, fresh.v, (size_t)s->dyn_start * hd), at(s, head->v, (size_t)head->n_fixed * hd), dyn_bytes);
        head_release(s, head);
        *head = fresh;
    }
    return MKV_OK;
}

mkv_status mkv_kv_head_keep(mkv_kv_store *s, int layer, int head_index, const int32_t *keep, int n_keep) {
    mkv_kv_head *head = &s->layers[layer].heads[head_index];
    if (n_keep > head->n_fixed) return mkv_fail(MKV_ERR_INPUT, "cannot keep %d of %d prompt rows", n_keep, head->n_fixed);
    if (n_keep == head->n_fixed) return MKV_OK;
    mkv_kv_head kept = {0};
    mkv_status st = head_alloc(s, &kept, n_keep);
    if (st != MKV_OK) return st;
    size_t hd = (size_t)s->head_dim;
    for (int i = 0; i < n_keep; i++) {
        int row = mkv_kv_row(s, layer, head_index, keep[i]);
        if (row < 0 || (i > 0 && keep[i] <= keep[i - 1])) {
            head_release(s, &kept);
            return mkv_fail(MKV_ERR_INPUT, "kept position %d is not a cached prompt row in increasing order", keep[i]);
        }
        memcpy(at(s, kept.k, i * hd), at(s, head->k, (size_t)row * hd), hd * mkv_kv_elem_bytes(s));
        memcpy(at(s, kept.v, i * hd), at(s, head->v, (size_t)row * hd), hd * mkv_kv_elem_bytes(s));
        kept.fixed_positions[i] = keep[i];
    }
    const size_t dyn_bytes = (size_t)s->n_dyn * hd * mkv_kv_elem_bytes(s);
    memcpy(at(s, kept.k, (size_t)n_keep * hd), at(s, head->k, (size_t)head->n_fixed * hd), dyn_bytes);
    memcpy(at(s, kept.v, (size_t)n_keep * hd), at(s, head->v, (size_t)head->n_fixed * hd), dyn_bytes);
    head_release(s, head);
    *head = kept;
    return MKV_OK;
}

bool mkv_kv_layer_allocated(const mkv_kv_store *s, int layer) { return s->layers[layer].heads[0].k != NULL; }

int64_t mkv_kv_store_fixed_rows(const mkv_kv_store *s) {
    int64_t total = 0;
    for (int l = 0; l < s->n_layers; l++)
        for (int h = 0; h < s->n_kv_heads; h++) total += s->layers[l].heads[h].n_fixed;
    return total;
}
