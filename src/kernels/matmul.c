/* Blocked GEMM driver for mkv_matmul: y[n][out] = x[n][in] . W^T (+ bias).
 *
 * Algorithm (Goto/BLIS loop nest, with W as the packed "B" operand):
 *   for each block of nc output columns (one OpenMP work item)
 *     for each k block of MKV_GEMM_KC
 *       pack the W rows of the block into nr-wide panels [k][nr] of f32,
 *         dequantizing F16/BF16/Q8_0/Q4_0 on the way (once per call, so the
 *         conversion is amortised over all n rows; the math is f32 on the
 *         exact dequantized weights);
 *       for each group of <= mr rows of x (near-equal groups)
 *         pack the x rows into an A panel [k][a_stride];
 *         for each W panel: register-tiled micro-kernel, y tile += A . B.
 * Every output element is one f32 FMA chain over k in ascending order, the
 * k blocks continuing from the partial sums left in y, so the result does not
 * depend on the thread count, on n, on the row's place in x, or on which
 * SIMD path ran (AVX-512 and AVX2 give identical bits). Work items are whole
 * column blocks, so each y element is written by one thread; they are handed
 * out dynamically, which keeps both cores busy when one is shared with
 * another process, without changing any value.
 *
 * Few rows (n <= mr, decode) take matmul_few_rows: the same micro-kernel
 * and chains, a loop order that streams each W row front to back. The opt-in
 * avx512bf16 table runs through the same driver with bf16 pair slots
 * (k_per_slot = 2).
 *
 * Scratch (packed panels, ~0.5 MiB per thread) is one mkv_malloc per call;
 * when it fails the caller runs the scalar reference instead. */
#include <omp.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/kernels_internal.h"
#include "util/alloc.h"
#include "util/dtype.h"

/* Output columns per work item at most: a KC x NC panel block (512 KiB)
 * stays in a 1-2 MiB L2 with the x rows and y tiles. */
#define GEMM_NC_MAX 512

static int64_t round_up(int64_t value, int64_t multiple) { return (value + multiple - 1) / multiple * multiple; }

/* Packs rows [o0, o0 + cols) x k [k0, k0 + kc) of W into ceil(cols/nr)
 * panels of KC*nr floats; padding columns of the last panel repeat the last
 * row (their results are never stored). */
static void pack_w_block(const mkv_isa_ops *ops, const mkv_tensor *w, size_t row_bytes, int64_t o0, int64_t cols,
                         int64_t k0, int64_t kc, float *w_block) {
    const int nr = ops->nr;
    const void *row_ptrs[64];
    for (int64_t p = 0; p * nr < cols; p++) {
        for (int c = 0; c < nr; c++) {
            int64_t column = p * nr + c < cols ? p * nr + c : cols - 1;
            row_ptrs[c] = (const unsigned char *)w->data + (size_t)(o0 + column) * row_bytes;
        }
        ops->pack_w_panel(w->dtype, row_ptrs, k0, kc, w_block + (size_t)p * MKV_GEMM_KC * nr);
    }
}

/* Per-thread scratch, in floats: the W block and one A panel. */
static size_t thread_scratch_floats(const mkv_isa_ops *ops, int64_t nc) {
    return (size_t)MKV_GEMM_KC * (size_t)nc + (size_t)MKV_GEMM_KC * (size_t)ops->a_stride;
}

/* Asks for the next k chunk of the panel's W rows while this one is
 * unpacked: 32 interleaved streams are more than the hardware prefetchers
 * follow on their own. */
static void prefetch_w_chunk(const void *const *row_ptrs, int nr, size_t row_bytes, int64_t in, int64_t k0) {
    const size_t begin = row_bytes * (size_t)k0 / (size_t)in;
    size_t end = row_bytes * (size_t)(k0 + MKV_GEMM_KC) / (size_t)in;
    if (end > row_bytes) end = row_bytes;
    for (int c = 0; c < nr; c++)
        for (size_t offset = begin; offset < end; offset += 64)
            __builtin_prefetch((const unsigned char *)row_ptrs[c] + offset, 0, 3);
}

static void prefetch_y_tile(const float *y_tile, int64_t y_row_stride, int rows, int nr) {
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < nr; c += 16) __builtin_prefetch(y_tile + r * y_row_stride + c, 1, 3);
}

/* Few rows (n <= mr, the decode case): W is read once and the cost is
 * streaming and unpacking it, so the loop runs panel by panel with k inside
 * (each group of nr W rows is read front to back, which the hardware
 * prefetchers follow), and x is packed once for all of k. Same FMA chains,
 * so the same bits, as the blocked path. */
static bool matmul_few_rows(const mkv_isa_ops *ops, float *y, const float *x, int64_t n, const mkv_tensor *w,
                            const float *bias, int n_threads) {
    const int64_t in = w->ne[0], out = w->ne[1];
    const size_t row_bytes = mkv_dtype_row_bytes(w->dtype, in);
    const int nr = ops->nr, a_stride = ops->a_stride, rows = (int)n;
    const int64_t n_panels = (out + nr - 1) / nr;
    const int team = n_panels < n_threads ? (int)n_panels : n_threads;
    const size_t x_floats = (size_t)round_up(in, 16) * (size_t)a_stride, per_thread = (size_t)MKV_GEMM_KC * nr;
    float *scratch = mkv_malloc((x_floats + (size_t)team * per_thread) * sizeof(float), "matmul packing scratch");
    if (!scratch) return false;
    float *x_packed = scratch;
    const float *x_rows[64];
    for (int r = 0; r < a_stride; r++) x_rows[r] = x + (r < rows ? r : rows - 1) * in;
    ops->pack_x_panel(x_rows, in, a_stride, x_packed);

#pragma omp parallel num_threads(team)
    {
        float *panel = scratch + x_floats + (size_t)omp_get_thread_num() * per_thread;
#pragma omp for schedule(dynamic, 4)
        for (int64_t p = 0; p < n_panels; p++) {
            const int64_t o0 = p * nr;
            const int cols = out - o0 < nr ? (int)(out - o0) : nr;
            const void *row_ptrs[64];
            for (int c = 0; c < nr; c++)
                row_ptrs[c] = (const unsigned char *)w->data + (size_t)(o0 + (c < cols ? c : cols - 1)) * row_bytes;
            for (int64_t k0 = 0; k0 < in; k0 += MKV_GEMM_KC) {
                const int64_t kc = in - k0 < MKV_GEMM_KC ? in - k0 : MKV_GEMM_KC;
                if (k0 + MKV_GEMM_KC < in) prefetch_w_chunk(row_ptrs, nr, row_bytes, in, k0 + MKV_GEMM_KC);
                ops->pack_w_panel(w->dtype, row_ptrs, k0, kc, panel);
                const float *x_slots = x_packed + (size_t)(k0 / ops->k_per_slot) * a_stride;
                ops->micro_kernel(rows, cols, kc, x_slots, a_stride, panel, y + o0, out, k0 > 0);
            }
            for (int64_t i = 0; i < n; i++)
                for (int c = 0; c < cols; c++) {
                    if (in == 0) y[i * out + o0 + c] = 0.0f;
                    if (bias) y[i * out + o0 + c] += bias[o0 + c];
                }
        }
    }
    mkv_free(scratch);
    return true;
}

/* Returns false (nothing written) when the scratch cannot be allocated. */
bool mkv_matmul_blocked(const mkv_isa_ops *ops, float *y, const float *x, int64_t n, const mkv_tensor *w,
                        const float *bias) {
    const int64_t in = w->ne[0], out = w->ne[1];
    const size_t row_bytes = mkv_dtype_row_bytes(w->dtype, in);
    if (n <= 0 || out <= 0) return true;
    const int mr = ops->mr, nr = ops->nr, a_stride = ops->a_stride;
    const int n_threads = omp_in_parallel() ? 1 : omp_get_max_threads();

    if (n <= mr) return matmul_few_rows(ops, y, x, n, w, bias, n_threads);

    /* Row groups of near-equal size (n = 16 runs as 8 + 8, not 14 + 2: a
     * group of few rows runs at FMA latency, not throughput). */
    const int64_t n_groups = (n + mr - 1) / mr;
    const int group_rows = (int)((n + n_groups - 1) / n_groups);

    /* Column blocks: at least one per thread when there are enough columns;
     * the split changes the schedule only, never the values. */
    int64_t nc = round_up((out + n_threads - 1) / n_threads, nr);
    if (nc > GEMM_NC_MAX) nc = GEMM_NC_MAX;
    const int64_t n_col_blocks = (out + nc - 1) / nc;
    const int team = n_col_blocks < n_threads ? (int)n_col_blocks : n_threads;

    const size_t per_thread = thread_scratch_floats(ops, nc);
    float *scratch = mkv_malloc((size_t)team * per_thread * sizeof(float), "matmul packing scratch");
    if (!scratch) return false;

#pragma omp parallel num_threads(team)
    {
        float *w_block = scratch + (size_t)omp_get_thread_num() * per_thread;
        float *a_panel = w_block + (size_t)MKV_GEMM_KC * (size_t)nc;
#pragma omp for schedule(dynamic, 1)
        for (int64_t block = 0; block < n_col_blocks; block++) {
            const int64_t o0 = block * nc;
            const int64_t cols = out - o0 < nc ? out - o0 : nc;
            for (int64_t k0 = 0; k0 < in; k0 += MKV_GEMM_KC) {
                const int64_t kc = in - k0 < MKV_GEMM_KC ? in - k0 : MKV_GEMM_KC;
                pack_w_block(ops, w, row_bytes, o0, cols, k0, kc, w_block);
                for (int64_t i0 = 0; i0 < n; i0 += group_rows) {
                    const int rows = n - i0 < group_rows ? (int)(n - i0) : group_rows;
                    const float *x_rows[64];
                    for (int r = 0; r < a_stride; r++) x_rows[r] = x + (i0 + (r < rows ? r : rows - 1)) * in + k0;
                    ops->pack_x_panel(x_rows, kc, a_stride, a_panel);
                    for (int64_t p = 0; p * nr < cols; p++) {
                        const int panel_cols = cols - p * nr < nr ? (int)(cols - p * nr) : nr;
                        /* the next y tile: with many rows it has left the caches since the last k block */
                        if ((p + 1) * nr < cols) prefetch_y_tile(y + i0 * out + o0 + (p + 1) * nr, out, rows, nr);
                        ops->micro_kernel(rows, panel_cols, kc, a_panel, a_stride, w_block + (size_t)p * MKV_GEMM_KC * nr,
                                          y + i0 * out + o0 + p * nr, out, k0 > 0);
                    }
                }
            }
            if (in == 0)
                for (int64_t i = 0; i < n; i++)
                    for (int64_t c = 0; c < cols; c++) y[i * out + o0 + c] = 0.0f;
            if (bias)
                for (int64_t i = 0; i < n; i++)
                    for (int64_t c = 0; c < cols; c++) y[i * out + o0 + c] += bias[o0 + c];
        }
    }
    mkv_free(scratch);
    return true;
}
