/* Run-time dispatch of the kernels in kernels.h: which SIMD path the CPU
 * supports (or MKV_ISA / mkv_kernels_force_isa asked for), and the public
 * entry points, which pick the fast driver or the scalar reference. */
#include <cpuid.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels_amx.h"
#include "kernels/kernels_internal.h"
#include "util/dtype.h"
#include "util/fp16.h"

/* F16C from CPUID leaf 1 (clang 14's __builtin_cpu_supports has no "f16c"). */
static bool cpu_has_f16c(void) {
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
}

static const mkv_isa_ops *detect_isa(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma"))
        return &mkv_isa_avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c())
        return &mkv_isa_avx2;
    return NULL;
}

/* NULL = scalar. Chosen before main (constructor), so no lazy-init race;
 * changed afterwards only by mkv_kernels_force_isa (tests, benchmarks). */
static const mkv_isa_ops *active_ops;
/* Opt-in "avx512bf16": BF16 weights multiply bf16-rounded activations with
 * vdpbf16ps (everything else runs the avx512 path). */
static bool bf16_dot_products;
/* AMX: the tile unit is there and granted (amx_present, at startup), and the
 * bf16 compute mode uses it (amx_on: "auto" and "amx"; any other forced path
 * turns it off, so that "avx512bf16" tests the vdpbf16ps kernels). */
static bool amx_present, amx_on;

static bool cpu_has_avx512bf16(void) {
    return detect_isa() == &mkv_isa_avx512 && __builtin_cpu_supports("avx512bf16");
}

__attribute__((constructor)) static void choose_isa_at_startup(void) {
    active_ops = detect_isa();
    amx_present = active_ops == &mkv_isa_avx512 && mkv_amx_detect();
    amx_on = amx_present;
    const char *requested = getenv("MKV_ISA");
    if (requested && *requested) mkv_kernels_force_isa(requested);
}

const mkv_isa_ops *mkv_kernels_ops(void) { return active_ops; }

const char *mkv_kernels_isa(void) {
    if (bf16_dot_products) return mkv_isa_avx512bf16.name;
    return active_ops ? active_ops->name : "scalar";
}

bool mkv_kernels_force_isa(const char *isa) {
    const mkv_isa_ops *best = detect_isa(), *chosen;
    bool bf16 = false, amx = false;
    if (strcmp(isa, "amx") == 0) {
        if (!amx_present) return false;
        chosen = &mkv_isa_avx512;
        amx = true;
    } else if (strcmp(isa, "avx512bf16") == 0) {
        if (!cpu_has_avx512bf16()) return false;
        chosen = &mkv_isa_avx512;
        bf16 = true;
    } else if (strcmp(isa, "avx512") == 0) {
        if (best != &mkv_isa_avx512) return false;
        chosen = &mkv_isa_avx512;
    } else if (strcmp(isa, "avx2") == 0) {
        if (!best) return false; /* every CPU with the AVX-512 path also has AVX2/FMA/F16C */
        chosen = &mkv_isa_avx2;
    } else if (strcmp(isa, "scalar") == 0) {
        chosen = NULL;
    } else if (strcmp(isa, "auto") == 0) {
        chosen = best;
        amx = amx_present;
    } else {
        return false;
    }
    active_ops = chosen;
    bf16_dot_products = bf16;
    amx_on = amx;
    return true;
}

void mkv_matmul(float *y, const float *x, int64_t n, const mkv_tensor *w, const float *bias) {
    const mkv_isa_ops *ops = active_ops;
    if (ops && bf16_dot_products && w->dtype == MKV_TYPE_BF16) ops = &mkv_isa_avx512bf16;
    if (ops && mkv_dtype_info(w->dtype) && mkv_matmul_blocked(ops, y, x, n, w, bias)) return;
    mkv_matmul_ref(y, x, n, w, bias);
}

bool mkv_cpu_has_bf16_dot(void) { return active_ops == &mkv_isa_avx512 && cpu_has_avx512bf16(); }

bool mkv_cpu_has_amx(void) { return amx_on; }

void mkv_round_to_bf16(const float *x, int64_t n, uint16_t *out) {
    if (mkv_cpu_has_bf16_dot()) {
        mkv_round_to_bf16_avx512bf16(x, n, out);
        return;
    }
    for (int64_t i = 0; i < n; i++) out[i] = mkv_f32_to_bf16_ftz(x[i]);
}

void mkv_dequantize_i8_to_bf16(const int8_t *q, float scale, int64_t n, uint16_t *out) {
    if (mkv_cpu_has_bf16_dot()) {
        mkv_dequantize_i8_to_bf16_avx512bf16(q, scale, n, out);
        return;
    }
    for (int64_t i = 0; i < n; i++) out[i] = mkv_f32_to_bf16_ftz(scale * (float)q[i]);
}

/* bench_gemm's peaks per core: AMD Zen 5 vdpbf16ps 259-287 GFLOP/s (2x its
 * FMA peak), an Intel Xeon with AVX512-BF16 and AMX 87 vs 177 GFLOP/s (half
 * of its FMA peak: bf16 compute ran 0.6x the f32 speed there) but AMX tiles
 * 3.0 TFLOP/s per core (bench_gemm's AMX tile peak). */
bool mkv_cpu_bf16_dot_is_fast(void) { return amx_on || (mkv_cpu_has_bf16_dot() && __builtin_cpu_is("amd")); }

void mkv_matmul_bf16(float *y, const float *x, int64_t n, const mkv_tensor *w, const float *bias) {
    if (amx_on && mkv_dtype_info(w->dtype) && mkv_matmul_amx(y, x, n, w, bias)) return;
    if (mkv_cpu_has_bf16_dot() && mkv_dtype_info(w->dtype) && mkv_matmul_blocked(&mkv_isa_avx512bf16, y, x, n, w, bias))
        return;
    mkv_matmul_bf16_ref(y, x, n, w, bias);
}

void mkv_matmul_as(mkv_compute compute, float *y, const float *x, int64_t n, const mkv_tensor *w, const float *bias) {
    if (compute == MKV_COMPUTE_BF16) mkv_matmul_bf16(y, x, n, w, bias);
    else mkv_matmul(y, x, n, w, bias);
}

const char *mkv_compute_name(mkv_compute compute) {
    switch (compute) {
    case MKV_COMPUTE_F32: return "f32";
    case MKV_COMPUTE_BF16: return "bf16";
    case MKV_COMPUTE_AUTO:
    default: return "auto";
    }
}

bool mkv_compute_from_name(const char *name, mkv_compute *compute) {
    static const mkv_compute all[] = {MKV_COMPUTE_AUTO, MKV_COMPUTE_F32, MKV_COMPUTE_BF16};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(name, mkv_compute_name(all[i])) == 0) {
            *compute = all[i];
            return true;
        }
    return false;
}

/* bf16 attention on AMX tiles: the tile unit in use and whole 32-channel tiles. */
static bool attention_on_amx(const mkv_attention_args *args) {
    return args->bf16 && amx_on && args->head_dim % 32 == 0 && mkv_cpu_has_bf16_dot();
}

mkv_attention_values *mkv_attention_prepare_values(const mkv_attention_args *args) {
    return attention_on_amx(args) ? mkv_attention_values_create(args) : NULL;
}

void mkv_attention(const mkv_attention_args *args) {
    const mkv_isa_ops *ops = active_ops;
    if (args->bf16) {
        if (mkv_cpu_has_bf16_dot() && mkv_attention_tiled(ops, &mkv_isa_avx512bf16, attention_on_amx(args), args)) return;
    } else if (ops && mkv_attention_tiled(ops, ops, false, args)) {
        return;
    }
    mkv_attention_ref(args);
}

/* Rows are independent; each is reduced by one thread (sum of squares in
 * f32 lanes, fixed order), then scaled in the reference's order. */
void mkv_rmsnorm(float *out, const float *x, const float *weight, int64_t n_rows, int dim, float eps) {
    const mkv_isa_ops *ops = active_ops;
    if (!ops) {
        mkv_rmsnorm_ref(out, x, weight, n_rows, dim, eps);
        return;
    }
#pragma omp parallel for schedule(static) if (n_rows * dim >= 65536)
    for (int64_t r = 0; r < n_rows; r++) {
        float mean_square = ops->sum_squares(x + r * dim, dim) / (float)dim;
        ops->scale_mul(out + r * dim, x + r * dim, 1.0f / sqrtf(mean_square + eps), weight, dim);
    }
}

void mkv_swiglu(float *out, const float *gate, const float *up, int64_t n) {
    const mkv_isa_ops *ops = active_ops;
    if (!ops) {
        mkv_swiglu_ref(out, gate, up, n);
        return;
    }
    enum { CHUNK = 16384 };
#pragma omp parallel for schedule(static) if (n >= 4 * CHUNK)
    for (int64_t start = 0; start < n; start += CHUNK)
        ops->swiglu(out + start, gate + start, up + start, n - start < CHUNK ? n - start : CHUNK);
}

/* cos/sin of each (row, pair) once, shared by the row's heads; the rotation
 * is the reference's arithmetic (products then one add, no FMA), so results
 * equal mkv_rope_ref bit for bit. */
void mkv_rope(float *x, int64_t n_rows, int64_t row_stride, int n_heads, int head_dim, const int32_t *positions,
              float theta, mkv_rope_style style) {
    const int half = head_dim / 2;
#pragma omp parallel for schedule(static) if (n_rows * n_heads * head_dim >= 65536)
    for (int64_t r = 0; r < n_rows; r++) {
        float *row = x + r * row_stride;
        for (int i = 0; i < half; i++) {
            float angle = mkv_rope_angle(positions[r], i, head_dim, theta);
            float cos_a = cosf(angle), sin_a = sinf(angle);
            int first = style == MKV_ROPE_NEOX ? i : 2 * i;
            int second = style == MKV_ROPE_NEOX ? i + half : 2 * i + 1;
            for (int h = 0; h < n_heads; h++) {
                float *head = row + (int64_t)h * head_dim;
                float a = head[first], b = head[second];
                float a_cos = a * cos_a, b_sin = b * sin_a, b_cos = b * cos_a, a_sin = a * sin_a;
                head[first] = a_cos - b_sin;
                head[second] = b_cos + a_sin;
            }
        }
    }
}

void mkv_softmax(float *x, int64_t n) {
    const mkv_isa_ops *ops = active_ops;
    if (ops) ops->softmax(x, n);
    else mkv_softmax_ref(x, n);
}
