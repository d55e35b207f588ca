/* Type-traits table for tensor element types (ggml numbering): adding a
 * quantized type is one row in dtype.c (the block dequantizers of the
 * types beyond q8_0/q4_0 are in dtype_quants.c). */
#ifndef MKV_DTYPE_H
#define MKV_DTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "maskkv.h"

#define MKV_QK8_0 32
#define MKV_QK4_0 32

typedef struct {
    uint16_t d;              /* f16 scale */
    int8_t qs[MKV_QK8_0];
} mkv_block_q8_0;

typedef struct {
    uint16_t d;              /* f16 scale */
    uint8_t qs[MKV_QK4_0 / 2]; /* element j in low nibble of qs[j], j+16 in high nibble */
} mkv_block_q4_0;

/* The other ggml block layouts (ggml-common.h), all little-endian with f16
 * scales; every field is a byte array or a 16-bit value, so the blocks need
 * 2-byte alignment only. 32-element blocks: */
typedef struct { uint16_t d, m; uint8_t qs[16]; } mkv_block_q4_1;           /* d*q + m, q in 0..15 */
typedef struct { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; } mkv_block_q5_0; /* d*(q-16); bit j of qh = bit 4 of q_j */
typedef struct { uint16_t d, m; uint8_t qh[4]; uint8_t qs[16]; } mkv_block_q5_1;
typedef struct { uint16_t d; uint8_t qs[16]; } mkv_block_iq4_nl;            /* d*kvalues[q] */

/* K-quants: super-blocks of 256 elements in groups of 16 or 32, each group
 * with its own 4-, 6- or 8-bit scale (and min) relative to the f16 d/dmin. */
#define MKV_QK_K 256
typedef struct { uint8_t scales[16]; uint8_t qs[64]; uint16_t d, dmin; } mkv_block_q2_k;
typedef struct { uint8_t hmask[32]; uint8_t qs[64]; uint8_t scales[12]; uint16_t d; } mkv_block_q3_k;
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[128]; } mkv_block_q4_k;
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; } mkv_block_q5_k;
typedef struct { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; } mkv_block_q6_k;

/* IQ4_NL's 16 non-linear levels (ggml's kvalues_iq4nl). */
extern const int8_t mkv_iq4_nl_values[16];

/* Scales and mins of the 8 groups of a q4_K/q5_K block (6 bits each, packed in 12 bytes). */
void mkv_kquant_scale_min(const uint8_t scales[12], int group, uint8_t *scale, uint8_t *min);
/* The 16 signed 6-bit group scales of a q3_K block (scale - 32). */
void mkv_q3_k_scales(const uint8_t scales[12], int8_t out[16]);

typedef struct {
    const char *name;        /* ggml's type name: "f32", "q8_0", "q4_K", ... */
    int block_size;          /* elements per block (1 for plain floats) */
    size_t block_bytes;      /* bytes per block */
    /* Converts n elements (n a multiple of block_size). */
    void (*to_float)(const void *src, float *dst, int64_t n);
    void (*from_float)(const float *src, void *dst, int64_t n); /* NULL: no quantizer (read-only type) */
} mkv_dtype_traits;

/* Scalar reference dequantizers of dtype_quants.c (n a multiple of the block size). */
void mkv_q4_1_to_float(const void *src, float *dst, int64_t n);
void mkv_q5_0_to_float(const void *src, float *dst, int64_t n);
void mkv_q5_1_to_float(const void *src, float *dst, int64_t n);
void mkv_iq4_nl_to_float(const void *src, float *dst, int64_t n);
void mkv_q2_k_to_float(const void *src, float *dst, int64_t n);
void mkv_q3_k_to_float(const void *src, float *dst, int64_t n);
void mkv_q4_k_to_float(const void *src, float *dst, int64_t n);
void mkv_q5_k_to_float(const void *src, float *dst, int64_t n);
void mkv_q6_k_to_float(const void *src, float *dst, int64_t n);

/* NULL for a type id that maskkv does not support. */
const mkv_dtype_traits *mkv_dtype_info(int type_id);
/* ggml's name of any type id, supported or not ("iq2_xxs"); NULL for an id
 * that no ggml version has used. */
const char *mkv_ggml_type_name(int type_id);
/* Bytes of a row of n elements; 0 when n is not a multiple of the block size. */
size_t mkv_dtype_row_bytes(mkv_dtype type, int64_t n);

/* mkv_dtype_name, mkv_dtype_from_name (case-insensitive) and
 * mkv_dtype_can_write are public (maskkv.h). */

#endif
