/* The ggml block types beyond q8_0/q4_0 (q4_1, q5_0, q5_1, iq4_nl,
 * q2_K..q6_K) on random blocks: the SIMD unpacking of every ISA equals the
 * scalar to_float bit for bit, the fast matmul equals the f32 FMA chain on
 * those dequantized weights (odd shapes, every row count), agrees with the
 * scalar reference, and does not depend on the thread count. (Values against
 * gguf-py: tests/python/check_dequant_gguf.py.) */
#include <math.h>
#include <omp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/kernels_internal.h"
#include "quant_blocks.h"
#include "test.h"
#include "util/dtype.h"

static const mkv_dtype new_types[] = {MKV_TYPE_Q4_1, MKV_TYPE_Q5_0, MKV_TYPE_Q5_1, MKV_TYPE_IQ4_NL, MKV_TYPE_Q2_K,
                                      MKV_TYPE_Q3_K, MKV_TYPE_Q4_K, MKV_TYPE_Q5_K, MKV_TYPE_Q6_K};
#define N_NEW_TYPES (sizeof new_types / sizeof new_types[0])

static float uniform(unsigned *state) {
    *state = *state * 1664525u + 1013904223u;
    return (float)((*state >> 8) & 0xffffff) / 16777216.0f * 2.0f - 1.0f;
}

typedef struct {
    mkv_tensor tensor;
    void *bytes;
    float *dequantized;
} quant_weight;

static quant_weight make_quant_weight(mkv_dtype dtype, int64_t in, int64_t out, unsigned seed) {
    quant_weight w;
    const mkv_dtype_traits *traits = mkv_dtype_info(dtype);
    const size_t bytes = mkv_dtype_row_bytes(dtype, in) * (size_t)out;
    w.bytes = malloc(bytes);
    w.dequantized = malloc((size_t)(in * out) * sizeof(float));
    mkv_test_random_blocks(dtype, w.bytes, in * out / traits->block_size, seed);
    traits->to_float(w.bytes, w.dequantized, in * out);
    memset(&w.tensor, 0, sizeof w.tensor);
    w.tensor.dtype = dtype;
    w.tensor.n_dims = 2;
    w.tensor.ne[0] = in;
    w.tensor.ne[1] = out;
    w.tensor.ne[2] = w.tensor.ne[3] = 1;
    w.tensor.data = w.bytes;
    w.tensor.n_bytes = bytes;
    return w;
}

static void free_quant_weight(quant_weight *w) {
    free(w->bytes);
    free(w->dequantized);
}

TEST(quants_table_layouts) {
    const struct {
        mkv_dtype type;
        const char *name;
        int block_size;
        size_t block_bytes;
    } expected[] = {{MKV_TYPE_Q4_1, "q4_1", 32, 20},   {MKV_TYPE_Q5_0, "q5_0", 32, 22},  {MKV_TYPE_Q5_1, "q5_1", 32, 24},
                    {MKV_TYPE_IQ4_NL, "iq4_nl", 32, 18}, {MKV_TYPE_Q2_K, "q2_K", 256, 84}, {MKV_TYPE_Q3_K, "q3_K", 256, 110},
                    {MKV_TYPE_Q4_K, "q4_K", 256, 144}, {MKV_TYPE_Q5_K, "q5_K", 256, 176}, {MKV_TYPE_Q6_K, "q6_K", 256, 210}};
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        const mkv_dtype_traits *t = mkv_dtype_info(expected[i].type);
        REQUIRE(t);
        CHECK_MSG(!strcmp(t->name, expected[i].name) && t->block_size == expected[i].block_size &&
                      t->block_bytes == expected[i].block_bytes && t->from_float == NULL,
                  "type %d: %s %d %zu", (int)expected[i].type, t->name, t->block_size, t->block_bytes);
        CHECK(!strcmp(mkv_ggml_type_name(expected[i].type), expected[i].name));
    }
    CHECK(!strcmp(mkv_ggml_type_name(16), "iq2_xxs") && !strcmp(mkv_ggml_type_name(23), "iq4_xs"));
    CHECK(mkv_ggml_type_name(43) == NULL && mkv_ggml_type_name(-1) == NULL);
    CHECK(mkv_dtype_row_bytes(MKV_TYPE_Q4_K, 512) == 288 && mkv_dtype_row_bytes(MKV_TYPE_Q6_K, 96) == 0);
}

/* Hand-made blocks with known values: the layouts, not just self-consistency. */
TEST(quants_known_values) {
    mkv_block_q4_k k4;
    memset(&k4, 0, sizeof k4);
    k4.d = 0x3c00;     /* 1.0 */
    k4.dmin = 0x3800;  /* 0.5 */
    k4.scales[1] = 3;  /* group 1: scale 3 */
    k4.scales[5] = 2;  /* group 1: min 2 */
    k4.scales[8] = 0x45; /* group 4: scale 5 | (scales[0] >> 6) << 4, min 4 | (scales[4] >> 6) << 4 */
    k4.scales[0] = 0x40;  /* group 0 scale 0 with top bits 01 -> group 4 scale 5 + 16 = 21 */
    k4.qs[0] = 0x7a;      /* element 0: 10 (group 0), element 32: 7 (group 1) */
    k4.qs[64] = 0x0f;     /* element 128 (group 4): 15 */
    float y[256];
    mkv_dtype_info(MKV_TYPE_Q4_K)->to_float(&k4, y, 256);
    CHECK(y[0] == 0.0f);                  /* scale 0, min 0 */
    CHECK(y[32] == 3.0f * 7 - 0.5f * 2);  /* 20 */
    CHECK(y[128] == 21.0f * 15 - 0.5f * 4);
    mkv_block_q6_k k6;
    memset(&k6, 0, sizeof k6);
    k6.d = 0x3c00;
    for (int g = 0; g < 16; g++) k6.scales[g] = (int8_t)(g - 8);
    k6.ql[0] = 0x21;  /* element 0: low 1, element 64: low 2 */
    k6.qh[0] = 0x1b;  /* element 0: top 3 -> 49, element 32: top 2, element 64: top 1 -> 18, element 96: 0 */
    mkv_dtype_info(MKV_TYPE_Q6_K)->to_float(&k6, y, 256);
    CHECK(y[0] == -8.0f * (49 - 32) && y[32] == -6.0f * (32 - 32) && y[64] == -4.0f * (18 - 32) &&
          y[96] == -2.0f * (0 - 32));
    mkv_block_q5_0 q5;
    memset(&q5, 0, sizeof q5);
    q5.d = 0x4000; /* 2.0 */
    q5.qh[2] = 0x01; /* bit 16: element 16 */
    q5.qs[0] = 0x35; /* element 0: 5, element 16: 3 | 16 */
    mkv_dtype_info(MKV_TYPE_Q5_0)->to_float(&q5, y, 32);
    CHECK(y[0] == 2.0f * (5 - 16) && y[16] == 2.0f * (19 - 16) && y[1] == 2.0f * -16);
    mkv_block_iq4_nl nl;
    memset(&nl, 0, sizeof nl);
    nl.d = 0x3c00;
    nl.qs[3] = 0xf0;
    mkv_dtype_info(MKV_TYPE_IQ4_NL)->to_float(&nl, y, 32);
    CHECK(y[3] == -127.0f && y[19] == 113.0f);
}

/* pack_w_panel of every ISA gives exactly to_float's values, at every k0. */
TEST(quants_simd_unpack_bit_exact) {
    const mkv_isa_ops *tables[] = {&mkv_isa_avx512, &mkv_isa_avx2};
    const char *names[] = {"avx512", "avx2"};
    for (int isa = 0; isa < 2; isa++) {
        if (!mkv_kernels_force_isa(names[isa])) continue;
        const mkv_isa_ops *ops = tables[isa];
        for (size_t t = 0; t < N_NEW_TYPES; t++) {
            const int64_t in = 768, out = ops->nr;
            quant_weight w = make_quant_weight(new_types[t], in, out, 11u + (unsigned)t);
            const size_t row_bytes = mkv_dtype_row_bytes(new_types[t], in);
            const void *rows[64];
            for (int c = 0; c < out; c++) rows[c] = (const unsigned char *)w.bytes + (size_t)c * row_bytes;
            float *panel = aligned_alloc(64, (size_t)MKV_GEMM_KC * (size_t)ops->nr * sizeof(float));
            int mismatches = 0;
            for (int64_t k0 = 0; k0 < in; k0 += MKV_GEMM_KC) {
                ops->pack_w_panel(new_types[t], rows, k0, MKV_GEMM_KC, panel);
                for (int64_t k = 0; k < MKV_GEMM_KC; k++)
                    for (int c = 0; c < out; c++)
                        mismatches += memcmp(&panel[k * ops->nr + c], &w.dequantized[c * in + k0 + k], 4) != 0;
            }
            CHECK_MSG(mismatches == 0, "%s %s: %d unpacked values differ from to_float", names[isa],
                      mkv_dtype_info(new_types[t])->name, mismatches);
            free(panel);
            free_quant_weight(&w);
        }
    }
    mkv_kernels_force_isa("auto");
}

/* Odd shapes: out not a multiple of the panel width, n over and under the
 * register tile, 1 and 2 threads; the fast path is the FMA chain on the
 * dequantized weights bit for bit and near the (double) reference. */
TEST(quants_fast_matmul_matches_fma_chain_and_reference) {
    const int64_t ins[] = {256, 512, 768};
    const int64_t ins_32[] = {96, 352, 800}; /* 32-element types: rows that are not multiples of 256 */
    const int64_t ns[] = {1, 5, 17};
    const int64_t outs[] = {3, 45, 77};
    const char *isas[] = {"avx512", "avx2"};
    unsigned seed = 321;
    const int saved_threads = omp_get_max_threads();
    for (size_t t = 0; t < N_NEW_TYPES; t++)
        for (size_t a = 0; a < 3; a++) {
            const int64_t k = mkv_dtype_info(new_types[t])->block_size == 32 ? ins_32[a] : ins[a];
            const int64_t n = ns[a], out = outs[a];
            quant_weight w = make_quant_weight(new_types[t], k, out, seed++);
            float *x = malloc((size_t)(n * k) * sizeof(float)), *bias = malloc((size_t)out * sizeof(float));
            for (int64_t i = 0; i < n * k; i++) x[i] = uniform(&seed);
            for (int64_t o = 0; o < out; o++) bias[o] = uniform(&seed);
            float *chain = malloc((size_t)(n * out) * sizeof(float)), *y = malloc((size_t)(n * out) * sizeof(float));
            float *ref = malloc((size_t)(n * out) * sizeof(float));
            for (int64_t i = 0; i < n; i++)
                for (int64_t o = 0; o < out; o++) {
                    float acc = 0.0f;
                    for (int64_t j = 0; j < k; j++) acc = fmaf(x[i * k + j], w.dequantized[o * k + j], acc);
                    chain[i * out + o] = acc + bias[o];
                }
            mkv_matmul_ref(ref, x, n, &w.tensor, bias);
            for (int isa = 0; isa < 2; isa++) {
                if (!mkv_kernels_force_isa(isas[isa])) continue;
                for (int threads = 1; threads <= 2; threads++) {
                    omp_set_num_threads(threads);
                    mkv_matmul(y, x, n, &w.tensor, bias);
                    int differ = 0, far = 0;
                    for (int64_t i = 0; i < n * out; i++) {
                        differ += y[i] != chain[i];
                        far += !(fabsf(y[i] - ref[i]) <= 1e-4f * (1.0f + fabsf(ref[i])) * sqrtf((float)k));
                    }
                    CHECK_MSG(differ == 0 && far == 0,
                              "%s %s in %lld n %lld out %lld threads %d: %d differ from the chain, %d far from the ref",
                              isas[isa], mkv_dtype_info(new_types[t])->name, (long long)k, (long long)n, (long long)out,
                              threads, differ, far);
                }
            }
            free(ref);
            free(y);
            free(chain);
            free(bias);
            free(x);
            free_quant_weight(&w);
        }
    omp_set_num_threads(saved_threads);
    mkv_kernels_force_isa("auto");
}
