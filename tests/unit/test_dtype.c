#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "util/dtype.h"
#include "util/fp16.h"

TEST(fp16_roundtrip_exact_values) {
    const float values[] = {0.0f, -0.0f, 1.0f, -2.5f, 65504.0f, 6.103515625e-05f, 5.960464477539063e-08f, 0.333251953125f};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        CHECK(mkv_f16_to_f32(mkv_f32_to_f16(values[i])) == values[i]);
    CHECK(mkv_f32_to_f16(1e6f) == 0x7c00);            /* overflow to +inf */
    CHECK(mkv_f32_to_f16(1.0f + 1.0f / 2048) == 0x3c00); /* tie rounds to even */
}

TEST(bf16_rounds_to_nearest_even) {
    CHECK(mkv_f32_to_bf16(1.0f) == 0x3f80);
    CHECK(mkv_f32_to_bf16(mkv_bits_f32(0x3f808000u)) == 0x3f80); /* tie, even stays */
    CHECK(mkv_f32_to_bf16(mkv_bits_f32(0x3f818000u)) == 0x3f82); /* tie, odd rounds up */
    CHECK(mkv_f32_to_bf16(mkv_bits_f32(0x3f808001u)) == 0x3f81);
    CHECK(mkv_bf16_to_f32(0xc040) == -3.0f);
}

TEST(q8_0_and_q4_0_roundtrip_error_is_bounded) {
    float x[64], y[64];
    for (int i = 0; i < 64; i++) x[i] = (float)((i * 37) % 64 - 32) / 7.0f;
    unsigned char blocks[2 * sizeof(mkv_block_q8_0)];
    const mkv_dtype_traits *q8 = mkv_dtype_info(MKV_TYPE_Q8_0);
    REQUIRE(q8 && q8->block_bytes == 34);
    q8->from_float(x, blocks, 64);
    q8->to_float(blocks, y, 64);
    for (int i = 0; i < 64; i++) CHECK_NEAR(y[i], x[i], 32.0 / 7 / 127 * 0.51 + 1e-3);
    const mkv_dtype_traits *q4 = mkv_dtype_info(MKV_TYPE_Q4_0);
    REQUIRE(q4 && q4->block_bytes == 18);
    q4->from_float(x, blocks, 64);
    q4->to_float(blocks, y, 64);
    for (int i = 0; i < 64; i++) CHECK_NEAR(y[i], x[i], 32.0 / 7 / 8 + 1e-3); /* one step: the top level clips at 7d */
}

TEST(dtype_table_rejects_unknown_types) {
    CHECK(mkv_dtype_info(4) == NULL);  /* q4_2, removed from ggml */
    CHECK(mkv_dtype_info(16) == NULL); /* iq2_xxs */
    CHECK(mkv_dtype_info(-1) == NULL);
    CHECK(mkv_dtype_info(1000) == NULL);
    CHECK(mkv_dtype_row_bytes(MKV_TYPE_Q8_0, 33) == 0);
    CHECK(mkv_dtype_row_bytes(MKV_TYPE_Q4_0, 64) == 36);
    mkv_dtype t;
    CHECK(mkv_dtype_from_name("bf16", &t) && t == MKV_TYPE_BF16);
    CHECK(mkv_dtype_from_name("q5_k", &t) && t == MKV_TYPE_Q5_K); /* ggml spells it q5_K */
    CHECK(!mkv_dtype_from_name("iq2_xxs", &t));
}
