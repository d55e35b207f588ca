/* Random blocks of the ggml block types for tests: random bytes everywhere,
 * with the f16 scales (d, and m/dmin where the type has one) set to finite
 * values of either sign, so every dequantized value is finite. */
#ifndef MKV_TEST_QUANT_BLOCKS_H
#define MKV_TEST_QUANT_BLOCKS_H

#include <stdint.h>

#include "maskkv.h"

void mkv_test_random_blocks(mkv_dtype dtype, void *blocks, int64_t n_blocks, unsigned seed);

#endif
