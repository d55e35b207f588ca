/* Compute kernels. Each has a plain scalar reference (`_ref`) beside the fast
 * path; the fast path is chosen at run time from the CPU's features (AVX2/FMA,
 * AVX-512, AVX-512-BF16) and runs on the OpenMP thread count. Results are
 * independent of the thread count (each output element is reduced by one
 * thread in a fixed order). */
#ifndef MKV_KERNELS_H
#define MKV_KERNELS_H

#include <stdbool.h>
#include <stdint.h>

#include "maskkv.h"

/* ---- matrix multiply:  y[n][out] = x[n][in] . W^T  (+ bias[out])
 * W has ne[0] = in, ne[1] = out (PyTorch's Linear weight [out][in]), any
 * supported dtype; x is f32 row-major with row stride `in`, y row stride `out`. */
void mkv_matmul(float *y, const float *x, int64_t n, const mkv_tensor *w, const float *bias);
void mkv_matmul_ref(float *y, const float *x, int64_t n, const mkv_tensor *w, const float *bias);

/* ---- bf16 compute (mkv_compute, maskkv.h): both matmul operands rounded
 * to bf16 (nearest even as PyTorch's .to(torch.bfloat16), subnormals to zero
 * as vcvtneps2bf16) where they enter a matmul, the exact pair products
 * accumulated in f32 with vdpbf16ps; mkv_cpu_has_bf16_dot() is true when the
 * CPU has AVX512-BF16 and the avx512 path is active, otherwise the scalar
 * references below run (same bits, much slower). */
/* y = bf16(x) . bf16(W)^T (+ bias) for any W dtype (BF16 weights used as they
 * are; others dequantized to f32 and rounded to bf16 in the packed panels).
 * Each output is one f32 chain over the k pairs in ascending order, each
 * pair step rounded as vdpbf16ps does (mkv_bf16_dot_step). */
void mkv_matmul_bf16(float *y, const float *x, int64_t n, const mkv_tensor *w, const float *bias);
void mkv_matmul_bf16_ref(float *y, const float *x, int64_t n, const mkv_tensor *w, const float *bias);
/* mkv_matmul (F32, AUTO) or mkv_matmul_bf16 (BF16). */
void mkv_matmul_as(mkv_compute compute, float *y, const float *x, int64_t n, const mkv_tensor *w, const float *bias);
/* out[i] = bf16(x[i]) (nearest even, subnormals to zero, as the bf16
 * matmul rounds its operands): AVX512-BF16 where the CPU has it. */
void mkv_round_to_bf16(const float *x, int64_t n, uint16_t *out);
/* out[i] = bf16(scale * q[i]) (the f32 product, then mkv_round_to_bf16's
 * rounding): an int8 row with its scale straight to bf16. */
void mkv_dequantize_i8_to_bf16(const int8_t *q, float scale, int64_t n, uint16_t *out);
/* One lane of vdpbf16ps: acc + a1*b1, rounded, + a0*b0, rounded (f32, nearest
 * even; bf16 subnormal inputs and f32 subnormal results flushed to zero). The
 * order and rounding were checked bit for bit against the instruction on
 * 32M random lanes (tests/unit/test_kernels_bf16.c repeats it on fewer). */
float mkv_bf16_dot_step(float acc, uint16_t a0, uint16_t a1, uint16_t b0, uint16_t b1);

/* ---- norms, activations, positions */
void mkv_rmsnorm(float *out, const float *x, const float *weight, int64_t n_rows, int dim, float eps);
/* out[i] = silu(gate[i]) * up[i] (in place allowed: out == gate). */
void mkv_swiglu(float *out, const float *gate, const float *up, int64_t n);
/* Rotates n_heads heads of head_dim in each of n_rows rows (row r starts at
 * x + r*row_stride, head h at + h*head_dim) by position positions[r]. */
void mkv_rope(float *x, int64_t n_rows, int64_t row_stride, int n_heads, int head_dim, const int32_t *positions,
              float theta, mkv_rope_style style);
void mkv_softmax(float *x, int64_t n);
/* Scalar references of the four above (same arguments and semantics). */
void mkv_rmsnorm_ref(float *out, const float *x, const float *weight, int64_t n_rows, int dim, float eps);
void mkv_swiglu_ref(float *out, const float *gate, const float *up, int64_t n);
void mkv_rope_ref(float *x, int64_t n_rows, int64_t row_stride, int n_heads, int head_dim, const int32_t *positions,
                  float theta, mkv_rope_style style);
void mkv_softmax_ref(float *x, int64_t n);
/* RoPE angle of pair i at `position`: inv_freq = 1 / theta^(2i/head_dim) and
 * angle = position * inv_freq, each step rounded to f32 as HF computes them
 * (LLaDA's modeling code, Qwen2RotaryEmbedding). Both styles use it. */
float mkv_rope_angle(int32_t position, int pair, int head_dim, float theta);

/* ---- bidirectional attention, tiled with online softmax (no n x n buffer)
 * Each KV head has its own key/value set (its own length): after eviction the
 * heads keep different prompt tokens. Key j of KV head g is at
 * kv[g].k + j*kv[g].stride (same for v). Query head h uses KV head
 * h / (n_heads / n_kv_heads). */
typedef struct {
    const void *k;           /* float, or uint16_t bf16 when args.bf16 */
    const void *v;
    int64_t n_keys;
    int64_t stride;          /* elements between consecutive keys/values */
} mkv_kv_head_view;

typedef struct {
    const float *q;          /* query i, head h at q + i*q_stride + h*head_dim */
    int64_t n_q;
    int64_t q_stride;
    float *out;              /* same layout as q, with out_stride */
    int64_t out_stride;
    int n_heads, n_kv_heads, head_dim;
    const mkv_kv_head_view *kv; /* [n_kv_heads] */
    float scale;             /* usually 1/sqrt(head_dim) */
    /* Mask-Voting (optional): when vote_query != NULL, for every query head h
     * and key j of its KV head: vote_sums[h][j] += sum over queries i with
     * vote_query[i] != 0 of softmax_j(scale * q_i.k_j). Accumulated from the
     * tiles; the probability matrix is never stored. */
    const uint8_t *vote_query;
    float **vote_sums;       /* [n_heads] arrays of kv[h/group].n_keys floats */
    /* Votes only (needs vote_query and vote_sums): the same vote sums, bit for
     * bit, without the attention output. Pass 1 keeps only each query's
     * softmax max and sum (no P.V); out is not written and may be NULL. */
    bool votes_only;
    /* bf16 compute: keys and values are bf16 arrays; Q.K^T takes bf16(q)
     * (RNE) and scales the f32 scores, P.V takes bf16(exp(s - running max))
     * and accumulates in f32, as PyTorch's CPU flash attention in bf16 does.
     * Softmax statistics and vote sums stay f32. */
    bool bf16;
    /* Optional: the values prepared for these K/V by
     * mkv_attention_prepare_values (NULL: each call prepares what it needs). */
    const struct mkv_attention_values *values;
} mkv_attention_args;

void mkv_attention(const mkv_attention_args *args);
/* The AMX path multiplies P.V on V^T (each KV head's values transposed): a
 * caller that runs several calls over the same K/V (the forward's query
 * chunks of one layer) transposes once here and passes the result in
 * args.values. Only args' kv, n_kv_heads, head_dim and bf16 are read. NULL
 * when the path in use needs nothing (f32, vdpbf16ps) or memory is short;
 * the K/V must not change while the values are in use. */
typedef struct mkv_attention_values mkv_attention_values;
mkv_attention_values *mkv_attention_prepare_values(const mkv_attention_args *args);
void mkv_attention_values_free(mkv_attention_values *values);
void mkv_attention_ref(const mkv_attention_args *args);

/* Which SIMD path mkv_matmul / mkv_attention use ("avx512bf16", "avx512", "avx2", "scalar"). */
const char *mkv_kernels_isa(void);
/* Forces a path (tests, benchmarks); returns false, changing nothing, if the
 * CPU lacks it or the name is unknown. "auto" returns to the best path the
 * CPU has (chosen at startup; the environment variable MKV_ISA, when set,
 * is applied the same way at startup). "avx512bf16" is never chosen
 * automatically: it is avx512 plus bf16 dot products (vdpbf16ps) for BF16
 * weights, which round the activations to bf16 (~3 significant digits, as a
 * PyTorch bf16 run does) for about twice the matmul throughput.
 * Every other path computes each matmul output as one f32 FMA chain over k
 * in order (avx512 and avx2 give identical bits; scalar sums in double). */
bool mkv_kernels_force_isa(const char *isa);

#endif
