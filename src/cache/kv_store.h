/* Per-layer, per-KV-head key/value store.
 *
 * Each KV head of each layer holds one contiguous buffer of rows [cap][head_dim]
 * for keys and one for values:
 *
 *     [ fixed rows: kept prompt tokens (n_fixed[h], possibly evicted) | dynamic rows ]
 *
 * Dynamic rows hold positions dyn_start .. dyn_start + n_dyn - 1, one row per
 * position, overwritten whenever that position is recomputed. Fixed rows hold
 * prompt positions 0 .. dyn_start-1 — all of them (full cache) or the subset an
 * eviction policy kept, in increasing position order, post-RoPE. Because each
 * head has its own buffer, heads may keep different numbers of tokens.
 * Elements are f32, or bf16 (round to nearest even) under bf16 compute: half
 * the bytes, and what the bf16 attention reads directly. */
#ifndef MKV_KV_STORE_H
#define MKV_KV_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "maskkv.h"

typedef struct {
    int n_fixed;             /* kept prompt rows                          */
    int32_t *fixed_positions;/* [n_fixed] positions of the kept rows      */
    void *k, *v;             /* [(n_fixed + n_dyn) * head_dim] of the store's dtype */
} mkv_kv_head;

typedef struct {
    mkv_kv_head *heads;      /* [n_kv_heads] */
} mkv_kv_layer;

typedef struct {
    int n_layers, n_kv_heads, head_dim;
    mkv_dtype dtype;         /* MKV_TYPE_F32 or MKV_TYPE_BF16              */
    int dyn_start;           /* first dynamic position                     */
    int n_dyn;               /* dynamic rows per head                      */
    mkv_kv_layer *layers;
    size_t bytes;            /* K/V bytes held now                         */
    size_t peak_bytes;       /* largest `bytes` seen                       */
} mkv_kv_store;

/* Creates a store whose every head holds all `dyn_start` prompt rows as fixed
 * rows (full cache) plus n_dyn dynamic rows. Fixed rows are filled by the
 * forward pass (position p -> row p). With `lazy`, no layer holds memory until
 * mkv_kv_layer_reset_full() allocates it: layer-by-layer eviction allocates
 * one layer's full prompt K/V at a time. */
mkv_status mkv_kv_store_init(mkv_kv_store *store, int n_layers, int n_kv_heads, int head_dim, int dyn_start, int n_dyn,
                             bool lazy);
/* The same with elements of `dtype` (MKV_TYPE_F32 or MKV_TYPE_BF16). */
mkv_status mkv_kv_store_init_dtype(mkv_kv_store *store, int n_layers, int n_kv_heads, int head_dim, int dyn_start,
                                   int n_dyn, bool lazy, mkv_dtype dtype);
/* Bytes of one element (4 or 2). */
size_t mkv_kv_elem_bytes(const mkv_kv_store *store);
/* Row `row` of a head's k or v buffer as f32 (exact), and from f32 (bf16
 * stores round to nearest even). */
void mkv_kv_read_row(const mkv_kv_store *store, const void *buffer, int row, float *out);
void mkv_kv_write_row(const mkv_kv_store *store, void *buffer, int row, const float *values);
/* True when the layer's heads hold buffers. */
bool mkv_kv_layer_allocated(const mkv_kv_store *store, int layer);
void mkv_kv_store_free(mkv_kv_store *store);

/* Row index of `position` in head h of layer l, or -1 if it is a prompt
 * position the head evicted. */
int mkv_kv_row(const mkv_kv_store *store, int layer, int head, int position);

/* Makes a layer hold all prompt rows again (first pass, prompt refresh),
 * keeping its dynamic rows; allocates a lazy layer. */
mkv_status mkv_kv_layer_reset_full(mkv_kv_store *store, int layer);

/* Keeps, in head h of `layer`, only the fixed rows whose positions are listed
 * in keep_positions (sorted increasing, a subset of the current fixed rows),
 * compacts the buffer and releases the memory of the evicted rows. */
mkv_status mkv_kv_head_keep(mkv_kv_store *store, int layer, int head, const int32_t *keep_positions, int n_keep);

/* Total kept fixed (prompt) rows over all layers and heads. */
int64_t mkv_kv_store_fixed_rows(const mkv_kv_store *store);

#endif
