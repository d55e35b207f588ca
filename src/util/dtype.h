/* Type-traits table for tensor element types (ggml numbering): adding a
 * quantized type is one row in dtype.c. */
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

typedef struct {
    const char *name;        /* "f32", "f16", "bf16", "q8_0", "q4_0" */
    int block_size;          /* elements per block (1 for plain floats) */
    size_t block_bytes;      /* bytes per block */
    /* Converts n elements (n a multiple of block_size). */
    void (*to_float)(const void *src, float *dst, int64_t n);
    void (*from_float)(const float *src, void *dst, int64_t n);
} mkv_dtype_traits;

/* NULL for a type id that maskkv does not support. */
const mkv_dtype_traits *mkv_dtype_info(int type_id);
bool mkv_dtype_from_name(const char *name, mkv_dtype *out);
/* Bytes of a row of n elements; 0 when n is not a multiple of the block size. */
size_t mkv_dtype_row_bytes(mkv_dtype type, int64_t n);

#endif
