/* Matrix-multiply benchmark: the machine's FMA peak and bf16 dot-product
 * (vdpbf16ps) peak (per core, all cores), memcpy bandwidth, and mkv_matmul
 * GFLOP/s for each weight dtype at LLaDA-like shapes in f32 compute and bf16
 * compute (mkv_matmul_bf16), 1 and 2 threads; with -DMKV_WITH_OPENBLAS also
 * OpenBLAS sgemm on the same f32 shapes.
 *
 *   make BUILD=build-kern build-kern/bench/bench_gemm
 *   ./build-kern/bench/bench_gemm [quick] [bf16] [isa=avx512|avx2|scalar]
 *   (bf16: only the f32 and bf16 weight types)
 *   # with OpenBLAS (Debian: apt-get install libopenblas-dev):
 *   CFLAGS=-DMKV_WITH_OPENBLAS LDLIBS=-lopenblas make BUILD=build-blas build-blas/bench/bench_gemm
 *   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ./build-blas/bench/bench_gemm
 * Results and discussion: bench/KERNELS.md. */
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/kernels.h"
#include "util/clock.h"
#include "util/dtype.h"

#ifdef MKV_WITH_OPENBLAS
#include <cblas.h>
#endif

/* ------------------------------------------------------------ FMA peak */
/* Independent accumulator chains (enough to cover FMA latency x 2 pipes),
 * acc = acc * a + b; FLOPs = 2 * lanes per FMA. 16 zmm chains; 12 ymm
 * chains, since AVX2 has only 16 registers (16 chains would spill). */
#define FMA_CHAINS 16
#define FMA_CHAINS_AVX2 12
__attribute__((target("avx512f"))) static float fma_loop_avx512(long iterations) {
    __m512 acc[FMA_CHAINS];
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-6f);
    for (int c = 0; c < FMA_CHAINS; c++) acc[c] = _mm512_set1_ps((float)c);
    for (long i = 0; i < iterations; i++)
#pragma GCC unroll 16
        for (int c = 0; c < FMA_CHAINS; c++) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
    __m512 sum = acc[0];
    for (int c = 1; c < FMA_CHAINS; c++) sum = _mm512_add_ps(sum, acc[c]);
    return _mm512_reduce_add_ps(sum);
}

__attribute__((target("avx2,fma"))) static float fma_loop_avx2(long iterations) {
    __m256 acc[FMA_CHAINS_AVX2];
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-6f);
    for (int c = 0; c < FMA_CHAINS_AVX2; c++) acc[c] = _mm256_set1_ps((float)c);
    for (long i = 0; i < iterations; i++)
#pragma GCC unroll 12
        for (int c = 0; c < FMA_CHAINS_AVX2; c++) acc[c] = _mm256_fmadd_ps(acc[c], a, b);
    float lanes[8];
    __m256 sum = acc[0];
    for (int c = 1; c < FMA_CHAINS_AVX2; c++) sum = _mm256_add_ps(sum, acc[c]);
    _mm256_storeu_ps(lanes, sum);
    return lanes[0] + lanes[7];
}

/* vdpbf16ps: each of the 16 f32 lanes adds two bf16 products, 4 FLOPs per
 * lane (2 multiplies, 2 adds): twice the FLOPs of an FMA per instruction. */
__attribute__((target("avx512f,avx512bf16"))) static float dpbf16_loop(long iterations) {
    __m512 acc[FMA_CHAINS];
    const __m512bh a = (__m512bh)_mm512_set1_epi16(0x3f80), b = (__m512bh)_mm512_set1_epi16(0x3380); /* 1, ~6e-8 */
    for (int c = 0; c < FMA_CHAINS; c++) acc[c] = _mm512_set1_ps((float)c);
    for (long i = 0; i < iterations; i++)
#pragma GCC unroll 16
        for (int c = 0; c < FMA_CHAINS; c++) acc[c] = _mm512_dpbf16_ps(acc[c], a, b);
    __m512 sum = acc[0];
    for (int c = 1; c < FMA_CHAINS; c++) sum = _mm512_add_ps(sum, acc[c]);
    return _mm512_reduce_add_ps(sum);
}

/* AMX: TDPBF16PS on four independent C tiles (16 x 16 f32 each, 16 x 32
 * bf16 operands), 16 * 16 * 32 * 2 FLOPs per instruction. The library asked
 * Linux for the tile state at start-up (mkv_cpu_has_amx). */
static const struct {
    uint8_t palette_id, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} __attribute__((packed, aligned(64))) amx_config = {1, 0, {0}, {64, 64, 64, 64, 64, 64, 64, 64}, {16, 16, 16, 16, 16, 16, 16, 16}};

/* with_loads: the operands loaded as a GEMM does, 2 A and 2 B tiles (4 KiB)
 * before every 4 instructions, walking a 128 KiB buffer (more than L1, in
 * L2); else 4 tiles loaded once. The buffer is written first: never-written
 * pages all map to one zero page, which stays in L1. */
__attribute__((target("amx-tile,amx-bf16,avx512f"))) static inline __attribute__((always_inline)) float
amx_tiles(long iterations, bool with_loads) {
    enum { SPAN = 64 * 1024 }; /* bf16 elements: 128 KiB */
    static uint16_t operands[SPAN] __attribute__((aligned(64)));
    float out[16 * 16];
    for (int i = 0; i < SPAN; i++) operands[i] = 0x3380;
    _tile_loadconfig(&amx_config);
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    if (!with_loads) {
        _tile_loadd(4, operands, 64);
        _tile_loadd(5, operands, 64);
        _tile_loadd(6, operands, 64);
        _tile_loadd(7, operands, 64);
    }
    for (long i = 0; i < iterations / 16; i++) {
        if (with_loads) {
            const uint16_t *block = operands + (i * 2048) % SPAN;
            _tile_loadd(4, block, 64);
            _tile_loadd(5, block + 512, 64);
            _tile_loadd(6, block + 1024, 64);
            _tile_loadd(7, block + 1536, 64);
        }
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
    _tile_stored(0, out, 64);
    _tile_release();
    return out[0];
}

__attribute__((target("amx-tile,amx-bf16,avx512f"))) static float amx_loop(long iterations) {
    return amx_tiles(iterations, false);
}

__attribute__((target("amx-tile,amx-bf16,avx512f"))) static float amx_loads_loop(long iterations) {
    return amx_tiles(iterations, true);
}

typedef enum { PEAK_AVX2, PEAK_AVX512, PEAK_BF16, PEAK_AMX, PEAK_AMX_LOADS } peak_kind;

static volatile float sink;

/* GFLOP/s of `threads` threads each running the loop (sum over threads). */
static double fma_peak_once(peak_kind kind, int threads) {
    const long iterations = 20000000;
    double seconds = 0;
#pragma omp parallel num_threads(threads)
    {
#pragma omp barrier
        double start = mkv_now_seconds();
        float r = kind == PEAK_AMX_LOADS ? amx_loads_loop(iterations)
                  : kind == PEAK_AMX    ? amx_loop(iterations)
                  : kind == PEAK_BF16   ? dpbf16_loop(iterations)
                  : kind == PEAK_AVX512 ? fma_loop_avx512(iterations)
                                        : fma_loop_avx2(iterations);
        double elapsed = mkv_now_seconds() - start;
#pragma omp critical
        {
            sink += r;
            if (elapsed > seconds) seconds = elapsed;
        }
    }
    double flops_per_iteration = kind == PEAK_AMX || kind == PEAK_AMX_LOADS ? 4 * 16 * 16 * 32 * 2.0 / 16
                                 : kind == PEAK_BF16   ? FMA_CHAINS * 16 * 4.0
                                 : kind == PEAK_AVX512 ? FMA_CHAINS * 16 * 2.0
                                                       : FMA_CHAINS_AVX2 * 8 * 2.0;
    double flops = (double)iterations * flops_per_iteration * threads;
    return flops / seconds * 1e-9;
}

static double fma_peak(peak_kind kind, int threads) {
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        double gflops = fma_peak_once(kind, threads);
        if (gflops > best) best = gflops;
    }
    return best;
}

/* --------------------------------------------------------- bandwidth */
static double memcpy_bandwidth(int threads) {
    const size_t bytes = (size_t)256 << 20;
    char *src = malloc(bytes), *dst = malloc(bytes);
    memset(src, 1, bytes);
    memset(dst, 2, bytes);
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        double start = mkv_now_seconds();
#pragma omp parallel num_threads(threads)
        {
            size_t part = bytes / (size_t)threads, begin = part * (size_t)omp_get_thread_num();
            memcpy(dst + begin, src + begin, part);
        }
        double elapsed = mkv_now_seconds() - start;
        if (elapsed < best) best = elapsed;
    }
    free(src);
    free(dst);
    return 2.0 * (double)bytes / best * 1e-9; /* read + write */
}

/* --------------------------------------------------------------- GEMM */
typedef struct {
    int64_t n, in, out;
    const char *what;
} gemm_shape;

static float *random_floats(int64_t count, unsigned seed) {
    float *values = malloc((size_t)count * sizeof(float));
    for (int64_t i = 0; i < count; i++) {
        seed = seed * 1664525u + 1013904223u;
        values[i] = (float)((seed >> 8) & 0xffff) / 65536.0f - 0.5f;
    }
    return values;
}

/* Seconds per call: the best of 3 windows of ~min_seconds/3 each, after a
 * warm-up call (the machine may be shared; the best window is the one least
 * disturbed). */
#define BEST_OF_WINDOWS(call, min_seconds)                                                                             \
    do {                                                                                                               \
        call;                                                                                                          \
        best = 1e30;                                                                                                   \
        for (int window = 0; window < 3; window++) {                                                                   \
            int reps = 0;                                                                                              \
            double start = mkv_now_seconds(), elapsed;                                                                     \
            do {                                                                                                       \
                call;                                                                                                  \
                reps++;                                                                                                \
                elapsed = mkv_now_seconds() - start;                                                                       \
            } while (elapsed < (min_seconds) / 3);                                                                     \
            if (elapsed / reps < best) best = elapsed / reps;                                                          \
        }                                                                                                              \
    } while (0)

static double time_matmul(mkv_compute compute, float *y, const float *x, const gemm_shape *s, const mkv_tensor *w,
                          double min_seconds) {
    double best;
    BEST_OF_WINDOWS(mkv_matmul_as(compute, y, x, s->n, w, NULL), min_seconds);
    return best;
}

#ifdef MKV_WITH_OPENBLAS
static double time_sgemm(float *y, const float *x, const gemm_shape *s, const float *w, double min_seconds) {
    double best;
    BEST_OF_WINDOWS(cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)s->n, (int)s->out, (int)s->in, 1.0f, x,
                                (int)s->in, w, (int)s->in, 0.0f, y, (int)s->out),
                    min_seconds);
    return best;
}
#endif

int main(int argc, char **argv) {
    bool quick = false, only_bf16 = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "quick") == 0) quick = true;
        else if (strcmp(argv[i], "bf16") == 0) only_bf16 = true; /* f32 and bf16 weights only */
        else if (strncmp(argv[i], "isa=", 4) == 0 && !mkv_kernels_force_isa(argv[i] + 4)) {
            fprintf(stderr, "bench_gemm: this CPU has no %s path\n", argv[i] + 4);
            return 2;
        }
    }
    const int max_threads = omp_get_max_threads();
    const bool have_avx512 = __builtin_cpu_supports("avx512f");
    printf("kernel path: %s, threads available: %d\n", mkv_kernels_isa(), max_threads);
    printf("\n## machine\n");
    for (int t = 1; t <= max_threads; t++) {
        if (mkv_cpu_has_amx()) {
            printf("bf16 AMX tile peak, %d thread(s): %7.1f GFLOP/s\n", t, fma_peak(PEAK_AMX, t));
            printf("bf16 AMX tile peak with 4 tile loads per 4 TDPBF16PS (128 KiB), %d thread(s): %7.1f GFLOP/s\n", t,
                   fma_peak(PEAK_AMX_LOADS, t));
        }
        if (mkv_cpu_has_bf16_dot())
            printf("bf16 dot peak (vdpbf16ps), %d thread(s): %7.1f GFLOP/s\n", t, fma_peak(PEAK_BF16, t));
        if (have_avx512) printf("FMA peak avx512, %d thread(s): %7.1f GFLOP/s\n", t, fma_peak(PEAK_AVX512, t));
        printf("FMA peak avx2,   %d thread(s): %7.1f GFLOP/s\n", t, fma_peak(PEAK_AVX2, t));
    }
    for (int t = 1; t <= max_threads; t++)
        printf("memcpy 256 MiB, %d thread(s): %6.1f GB/s (read + write)\n", t, memcpy_bandwidth(t));

    const gemm_shape full_shapes[] = {
        {1, 4096, 4096, "decode, 1 row"},
        {16, 4096, 4096, "decode, 16 rows"},
        {64, 4096, 4096, "64 rows"},
        {256, 4096, 4096, "block of 256"},
        {1024, 1024, 1024, "small square"},
        {1024, 4096, 4096, "q/k/v/o projection"},
        {1024, 4096, 12288, "ffn gate/up"},
        {1024, 12288, 4096, "ffn down"},
        {4096, 4096, 4096, "4k tokens"},
    };
    const gemm_shape quick_shapes[] = {
        {1, 4096, 4096, "decode, 1 row"},
        {256, 4096, 4096, "block of 256"},
        {1024, 4096, 4096, "q/k/v/o projection"},
    };
    const gemm_shape *shapes = quick ? quick_shapes : full_shapes;
    const int n_shapes = quick ? (int)(sizeof quick_shapes / sizeof quick_shapes[0])
                               : (int)(sizeof full_shapes / sizeof full_shapes[0]);
    const mkv_dtype dtypes[] = {MKV_TYPE_F32, MKV_TYPE_BF16, MKV_TYPE_F16, MKV_TYPE_Q8_0, MKV_TYPE_Q4_0};
    const double min_seconds = quick ? 0.3 : 1.0;

    printf("\n## mkv_matmul (%s): GFLOP/s (2 n in out per call); weight GB/s for n <= 64\n", mkv_kernels_isa());
    printf("compute f32: mkv_matmul; compute bf16: mkv_matmul_bf16 (vdpbf16ps: %s)\n",
           mkv_cpu_has_bf16_dot() ? "yes" : "no, scalar twin");
    printf("%-22s %5s %6s %6s %-5s %-4s %8s %8s", "shape", "n", "in", "out", "dtype", "comp", "1 thr", "GB/s");
    if (max_threads > 1) printf(" %8s %8s", "2 thr", "GB/s");
    printf("\n");
    for (int s = 0; s < n_shapes; s++) {
        const gemm_shape *shape = &shapes[s];
        float *x = random_floats(shape->n * shape->in, 1);
        float *w_f32 = random_floats(shape->in * shape->out, 2);
        float *y = malloc((size_t)(shape->n * shape->out) * sizeof(float));
        const double flops = 2.0 * (double)shape->n * (double)shape->in * (double)shape->out;
        for (size_t t = 0; t < sizeof dtypes / sizeof dtypes[0] * 2; t++) {
            const mkv_compute compute = t % 2 ? MKV_COMPUTE_BF16 : MKV_COMPUTE_F32;
            if (only_bf16 && dtypes[t / 2] != MKV_TYPE_BF16 && dtypes[t / 2] != MKV_TYPE_F32) continue;
            const mkv_dtype_traits *traits = mkv_dtype_info(dtypes[t / 2]);
            size_t bytes = mkv_dtype_row_bytes(dtypes[t / 2], shape->in) * (size_t)shape->out;
            void *w_bytes = malloc(bytes);
            traits->from_float(w_f32, w_bytes, shape->in * shape->out);
            mkv_tensor w = {.dtype = dtypes[t / 2], .n_dims = 2, .ne = {shape->in, shape->out, 1, 1}, .data = w_bytes,
                            .n_bytes = bytes};
            printf("%-22s %5lld %6lld %6lld %-5s %-4s", shape->what, (long long)shape->n, (long long)shape->in,
                   (long long)shape->out, traits->name, mkv_compute_name(compute));
            for (int threads = 1; threads <= (max_threads > 1 ? 2 : 1); threads++) {
                omp_set_num_threads(threads);
                double seconds = time_matmul(compute, y, x, shape, &w, min_seconds);
                printf(" %8.1f", flops / seconds * 1e-9);
                if (shape->n <= 64) printf(" %8.1f", (double)bytes / seconds * 1e-9);
                else printf(" %8s", "");
            }
            omp_set_num_threads(max_threads);
            printf("\n");
            fflush(stdout);
            free(w_bytes);
        }
#ifdef MKV_WITH_OPENBLAS
        printf("%-22s %5lld %6lld %6lld %-5s", shape->what, (long long)shape->n, (long long)shape->in,
               (long long)shape->out, "blas");
        for (int threads = 1; threads <= (max_threads > 1 ? 2 : 1); threads++) {
            openblas_set_num_threads(threads);
            double seconds = time_sgemm(y, x, shape, w_f32, min_seconds);
            printf(" %8.1f", flops / seconds * 1e-9);
            if (shape->n <= 64) printf(" %8.1f", (double)shape->in * shape->out * 4 / seconds * 1e-9);
            else printf(" %8s", "");
        }
        printf("   (OpenBLAS %s, sgemm f32)\n", openblas_get_config());
#endif
        free(x);
        free(w_f32);
        free(y);
    }
    return 0;
}
