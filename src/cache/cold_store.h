/* The cold store: the prompt K/V rows an eviction removed from the hot cache
 * (kv_store.h), kept compact so that a later re-vote (revote.h) can bring
 * them back without recomputing the prompt.
 *
 * Each row is int8 with a per-row scale, K and V separately:
 *     x ~= scale * q,  scale = max|x| / 127,  q = round(x / scale) in [-127, 127]
 * (an all-zero row has scale 0). Per layer and KV head a region of
 * `capacity` slots holds the head's cold rows in no particular order, each
 * with its position.
 *
 * Where the bytes live:
 *   file (default) — a shared mapping of a temporary file created with
 *                    mkstemp in $TMPDIR (else /tmp) and unlinked at once: it
 *                    has no name from then on and the kernel frees it when the
 *                    mapping goes, on every exit (normal, error, SIGINT,
 *                    SIGKILL). Its space is reserved up front
 *                    (posix_fallocate), so a full disk is an error at start,
 *                    never a SIGBUS later. After each use the pages of a layer
 *                    are dropped from the process (MADV_DONTNEED; the data
 *                    stays in the file), so they do not count in its RSS.
 *   ram            — the same layout in ordinary memory (counts in RSS).
 */
#ifndef MKV_COLD_STORE_H
#define MKV_COLD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "maskkv.h"

/* mkv_cold_mode is public (maskkv.h). */

typedef struct mkv_cold_store mkv_cold_store;

/* capacity: the most cold rows one head can hold (the evictable prompt rows). */
mkv_status mkv_cold_store_create(mkv_cold_mode mode, int n_layers, int n_kv_heads, int head_dim, int capacity,
                                 mkv_cold_store **out);
void mkv_cold_store_free(mkv_cold_store *store);

/* Replaces the cold rows of (layer, head) with the rows of a full head that
 * are NOT kept: k_full/v_full hold rows 0..n_rows-1 (row = position, [n][hd]),
 * keep[] the kept positions (increasing). */
mkv_status mkv_cold_capture(mkv_cold_store *store, int layer, int head, const float *k_full, const float *v_full,
                            int n_rows, const int32_t *keep, int n_keep);

int mkv_cold_rows(const mkv_cold_store *store, int layer, int head);
int32_t mkv_cold_position(const mkv_cold_store *store, int layer, int head, int slot);
/* Dequantized K (and V when v != NULL) of one slot, head_dim floats each. */
void mkv_cold_get(const mkv_cold_store *store, int layer, int head, int slot, float *k, float *v);
/* Dequantized K of slots first .. first + n - 1 into k [n][head_dim] (the
 * values mkv_cold_get gives, bit for bit). */
void mkv_cold_get_keys(const mkv_cold_store *store, int layer, int head, int first, int n, float *k);
/* The same keys rounded to bf16 (mkv_dequantize_i8_to_bf16: the values of
 * mkv_cold_get_keys, then rounded) into k [n][head_dim]. */
void mkv_cold_get_keys_bf16(const mkv_cold_store *store, int layer, int head, int first, int n, uint16_t *k);
/* Quantizes a row into a slot that already holds a row (a swap). */
void mkv_cold_set(mkv_cold_store *store, int layer, int head, int slot, int32_t position, const float *k, const float *v);
/* File mode: drops the head's pages from the process's memory (the data stays
 * in the file; capture and the re-vote call it after each head, so at most
 * one head's cold rows are resident at a time); RAM mode: nothing. */
void mkv_cold_release_head(mkv_cold_store *store, int layer, int head);

/* Cold rows over all layers and heads, and the bytes they take. */
int64_t mkv_cold_total_rows(const mkv_cold_store *store);
size_t mkv_cold_bytes(const mkv_cold_store *store);
/* The bytes reserved (file size or allocation). */
size_t mkv_cold_reserved_bytes(const mkv_cold_store *store);
mkv_cold_mode mkv_cold_store_mode(const mkv_cold_store *store);

/* int8 with a per-row scale (exposed for the tests). */
float mkv_cold_quantize_row(const float *restrict x, int n, int8_t *restrict q);
void mkv_cold_dequantize_row(const int8_t *restrict q, float scale, int n, float *restrict x);

/* "off" "file" "ram"; from_name returns false when unknown. */
const char *mkv_cold_mode_name(mkv_cold_mode mode);
bool mkv_cold_mode_from_name(const char *name, mkv_cold_mode *out);

#endif
