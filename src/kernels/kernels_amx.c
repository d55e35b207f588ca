/* AMX-BF16 kernels of the bf16 compute mode (Intel Sapphire Rapids and
 * later): the same products as the vdpbf16ps path (kernels_avx512bf16.c),
 * both operands rounded to bf16 and the pair products accumulated in f32,
 * on the tile unit, which does 16 x 16 x 32 multiply-adds per TDPBF16PS
 * (bench_gemm on the Intel Xeon of 2026-12-04: 3.0 TFLOP/s per core,
 * against 0.22 for f32 FMAs and 0.11 for vdpbf16ps, whose bf16 throughput
 * Intel halves).
 *
 * Tiles: every tile register is configured 16 rows x 64 bytes. C += A . B
 * with A = 16 rows x 32 bf16 (row-major, k contiguous), B = 16 k-pair rows x
 * 16 columns of (k, k+1) pairs (the "pair slot" panels the vdpbf16ps path
 * packs already), C = 16 x 16 f32. A 2 x 2 block of C tiles (32 x 32
 * outputs) takes 2 A and 2 B loads per 32 k.
 *
 * Rounding: the tile unit's f32 accumulation inside one TDPBF16PS is not
 * the documented pair-by-pair order (checked on random tiles: neither
 * vdpbf16ps's order nor one rounding of the exact sum reproduces it), so
 * these kernels have no bit-exact scalar twin; the tests bound them against
 * the exact (double) sums of the same bf16 operands and against the
 * vdpbf16ps reference. Every output is still one chain over k in ascending
 * steps of 32, computed by one thread: results do not depend on the thread
 * count, on n, or on a row's place in x.
 *
 * The OS must grant the tile state to the process (Linux arch_prctl
 * ARCH_REQ_XCOMP_PERM); each thread loads the tile configuration before its
 * first tile instruction and releases the tiles after its work. */
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx2,fma,f16c,amx-tile,amx-bf16")

#include <cpuid.h>
#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kernels/exp_avx512.h"
#include "kernels/kernels_amx.h"
#include "util/alloc.h"
#include "util/dtype.h"

#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

#define AMX_NR 32          /* columns of a packed B panel (two tiles)                  */
#define AMX_ROW_CHUNK 2048 /* rows of x rounded to bf16 per pass over W                */
#define AMX_NC 256         /* output columns per work item at most (eight panels)      */
#define AMX_KC 4096        /* k per pass of a C block held in tiles (its A, B: in L2)  */
/* packed W of a work item at most: 1 MiB for many rows (reused by each of
 * them), 512 KiB for few (packed, read once: with 1 MiB, bench_gemm bf16
 * ran its 16- and 64-row calls 8-27% slower); L2 is 2 MiB */
#define AMX_W_BLOCK_BYTES(rows) ((rows) >= 256 ? (size_t)1 << 20 : (size_t)1 << 19)
#define AMX_TILE 512       /* bf16 elements of one A tile (16 rows x 32)               */

typedef struct {
    uint8_t palette_id, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} __attribute__((packed)) tile_config;

static bool os_has_tile_state(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    const bool amx_bf16 = d & (1u << 22), amx_tile = d & (1u << 24);
    if (!amx_bf16 || !amx_tile) return false;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE)) return false;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & (3u << 17)) != (3u << 17)) return false; /* XTILECFG and XTILEDATA enabled by the OS */
    return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
}

bool mkv_amx_detect(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512bf16") && os_has_tile_state();
}

/* Every tile 16 rows x 64 bytes. A constant object: GCC 12's
 * _tile_loadconfig tells the compiler it reads only 8 bytes, so the fields of
 * a local configuration filled just before can be optimised away. */
static const tile_config all_tiles_16x64 __attribute__((aligned(64))) = {
    .palette_id = 1,
    .colsb = {64, 64, 64, 64, 64, 64, 64, 64},
    .rows = {16, 16, 16, 16, 16, 16, 16, 16},
};

void mkv_amx_begin(void) { _tile_loadconfig(&all_tiles_16x64); }

void mkv_amx_end(void) { _tile_release(); }

/* The 2 x 2 block of C tiles 0-3 (0: rows 0-15 x cols 0-15, 1: rows 0-15 x
 * cols 16-31, 2, 3: rows 16-31) += A[32][k_pad] . B over k_pad (a multiple
 * of 32): the A tiles of rows 0-15 and 16-31 for k at a_top / a_bottom + (k
 * / 32) * a_step (bf16 elements; rows a_row_bytes apart), B the pair panel
 * [k_pad / 2][b_stride] from b (two 16-column tiles at b and b + 16). */
static inline __attribute__((always_inline)) void accumulate_2x2(const uint16_t *a_top, const uint16_t *a_bottom,
                                                                 int64_t a_step, int64_t a_row_bytes, const float *b,
                                                                 int64_t b_stride, int64_t k_pad) {
    for (int64_t k = 0; k < k_pad; k += 32) {
        _tile_loadd(4, a_top + (k / 32) * a_step, a_row_bytes);
        _tile_loadd(5, a_bottom + (k / 32) * a_step, a_row_bytes);
        _tile_loadd(6, b + (k / 2) * b_stride, b_stride * 4);
        _tile_loadd(7, b + (k / 2) * b_stride + 16, b_stride * 4);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
}

/* A as 32 row-major bf16 rows a_stride elements apart. */
static inline __attribute__((always_inline)) void accumulate_2x2_rows(const uint16_t *a, int64_t a_stride,
                                                                      const float *b, int64_t b_stride, int64_t k_pad) {
    accumulate_2x2(a, a + 16 * a_stride, 32, a_stride * 2, b, b_stride, k_pad);
}

static inline void zero_c_block(void) {
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
}

/* Tiles 0-3 to or from a full 32 x 32 block of f32 at c (row stride c_stride floats). */
static inline void load_c_block(const float *c, int64_t c_stride) {
    _tile_loadd(0, c, c_stride * 4);
    _tile_loadd(1, c + 16, c_stride * 4);
    _tile_loadd(2, c + 16 * c_stride, c_stride * 4);
    _tile_loadd(3, c + 16 * c_stride + 16, c_stride * 4);
}

static inline void store_c_block(float *c, int64_t c_stride) {
    _tile_stored(0, c, c_stride * 4);
    _tile_stored(1, c + 16, c_stride * 4);
    _tile_stored(2, c + 16 * c_stride, c_stride * 4);
    _tile_stored(3, c + 16 * c_stride + 16, c_stride * 4);
}

/* y[rows][cols] (row stride y_stride) = A . B as accumulate_2x2 over zeroed
 * tiles; a partial block goes through `stage` (32 x 32 floats). Rows/cols
 * beyond rows/cols are computed from whatever A/B hold there (callers pad
 * with zeros) and not stored. */
static void gemm_block_2x2(const uint16_t *a, int64_t a_stride, const float *b, int64_t b_stride, int64_t k_pad,
                           float *y, int64_t y_stride, int rows, int cols, float *stage) {
    zero_c_block();
    accumulate_2x2_rows(a, a_stride, b, b_stride, k_pad);
    if (rows == 32 && cols == 32) {
        store_c_block(y, y_stride);
        return;
    }
    store_c_block(stage, 32);
    for (int r = 0; r < rows; r++) memcpy(y + r * y_stride, stage + r * 32, (size_t)cols * sizeof(float));
}

/* x rows [0, rows) rounded to bf16 (RNE, as vcvtneps2bf16) as A tiles: rows
 * r..r+15 (r a multiple of 16) for k..k+31 are the tile at ((r / 16) *
 * k_tiles + k / 32) * AMX_TILE, 64 bytes per row; zero beyond `in` and for
 * the padding rows up to rows_pad. */
static void round_rows_to_tiles(const float *x, int64_t in, int64_t rows, int64_t rows_pad, int64_t k_pad,
                                uint16_t *tiles) {
    const int64_t k_tiles = k_pad / 32;
#pragma omp parallel for schedule(static) if (rows * in >= 65536)
    for (int64_t r = 0; r < rows_pad; r++) {
        uint16_t *dst = tiles + (r / 16) * k_tiles * AMX_TILE + (r % 16) * 32;
        const float *src = x + r * in;
        for (int64_t kt = 0; kt < k_tiles; kt++) {
            const int64_t k = kt * 32, left = r < rows ? (in - k < 32 ? in - k : 32) : 0;
            __m512 lo, hi;
            if (left == 32) {
                lo = _mm512_loadu_ps(src + k);
                hi = _mm512_loadu_ps(src + k + 16);
            } else {
                const __mmask16 lo_mask = (__mmask16)(left >= 16 ? 0xffff : (1u << left) - 1);
                const __mmask16 hi_mask = (__mmask16)(left <= 16 ? 0 : (1u << (left - 16)) - 1);
                lo = _mm512_maskz_loadu_ps(lo_mask, left > 0 ? src + k : x);
                hi = _mm512_maskz_loadu_ps(hi_mask, left > 16 ? src + k + 16 : x);
            }
            _mm512_storeu_si512((void *)(dst + kt * AMX_TILE), (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
        }
    }
}

/* One B panel for k in [k0, k0 + k_len): W rows row_ptrs[0..31] as pair
 * slots [k_len / 2][32] (the vdpbf16ps table's packer, MKV_GEMM_KC k at a
 * time), zero slots beyond `in`. k0 < in, k0 a multiple of MKV_GEMM_KC. */
static void pack_w_panel_range(mkv_dtype dtype, const void *const *row_ptrs, int64_t in, int64_t k0, int64_t k_len,
                               float *panel) {
    const int64_t end = in < k0 + k_len ? in : k0 + k_len;
    for (int64_t k = k0; k < end; k += MKV_GEMM_KC) {
        const int64_t len = end - k < MKV_GEMM_KC ? end - k : MKV_GEMM_KC;
        mkv_isa_avx512bf16.pack_w_panel(dtype, row_ptrs, k, len, panel + ((k - k0) / 2) * AMX_NR);
    }
    const int64_t used = (end - k0 + 1) / 2;
    memset(panel + used * AMX_NR, 0, (size_t)(k_len / 2 - used) * AMX_NR * sizeof(float));
}

/* Output columns per work item: at most AMX_NC, few enough for the item's
 * W panels over all of k to stay in L2 (AMX_W_BLOCK_BYTES), and fewer when
 * that would leave threads idle. */
static int64_t columns_per_item(int64_t out, int64_t k_pad, int64_t rows, int n_threads) {
    int64_t nc = AMX_NC;
    while (nc > AMX_NR && (size_t)(nc * k_pad * 2) > AMX_W_BLOCK_BYTES(rows)) nc /= 2;
    while (nc > AMX_NR && (out + nc - 1) / nc < 2 * n_threads) nc /= 2;
    return nc;
}

/* y[rows][cols] = x_tiles . W for the columns [o0, o0 + cols) of one work
 * item and all rows of the chunk: the item's panels of W packed once
 * (w_block, L2), then each 32-row block of x meets every panel in passes of
 * AMX_KC. A and B tiles stream from L2, which holds the tile unit to about
 * two thirds of its peak (bench_gemm's loop with loads); passes of 512 k, an A
 * block kept in L1, still ran 1-10% slower in an experiment build. Between
 * passes the C tiles of the row block wait in c_rows (32 x 32 floats per
 * panel, contiguous: in place in y, 16 rows of a tile would touch 16 pages),
 * which then goes to y with the bias. */
static void gemm_work_item(const uint16_t *x_tiles, int64_t rows, int64_t k_pad, const mkv_tensor *w,
                           size_t row_bytes, int64_t o0, int64_t cols, const float *bias, float *y, int64_t out,
                           float *w_block, float *c_rows) {
    const int64_t in = w->ne[0], k_tiles = k_pad / 32, panel_floats = (k_pad / 2) * AMX_NR;
    const int n_panels = (int)((cols + AMX_NR - 1) / AMX_NR);
    for (int p = 0; p < n_panels; p++) {
        const void *row_ptrs[AMX_NR];
        for (int c = 0; c < AMX_NR; c++) {
            const int64_t column = p * AMX_NR + c < cols ? p * AMX_NR + c : cols - 1;
            row_ptrs[c] = (const unsigned char *)w->data + (size_t)(o0 + column) * row_bytes;
        }
        for (int64_t k0 = 0; k0 < k_pad; k0 += AMX_KC)
            pack_w_panel_range(w->dtype, row_ptrs, in, k0, k_pad - k0 < AMX_KC ? k_pad - k0 : AMX_KC,
                               w_block + p * panel_floats + (k0 / 2) * AMX_NR);
    }
    for (int64_t i0 = 0; i0 < rows; i0 += 32) {
        const int block_rows = rows - i0 < 32 ? (int)(rows - i0) : 32;
        const uint16_t *a_rows = x_tiles + (i0 / 16) * k_tiles * AMX_TILE;
        for (int64_t k0 = 0; k0 < k_pad; k0 += AMX_KC) {
            const int64_t k_len = k_pad - k0 < AMX_KC ? k_pad - k0 : AMX_KC;
            const uint16_t *a_top = a_rows + (k0 / 32) * AMX_TILE;
            for (int p = 0; p < n_panels; p++) {
                float *c = c_rows + (size_t)p * 32 * 32;
                if (k0 == 0) zero_c_block();
                else load_c_block(c, 32);
                accumulate_2x2(a_top, a_top + k_tiles * AMX_TILE, AMX_TILE, 64,
                               w_block + p * panel_floats + (k0 / 2) * AMX_NR, AMX_NR, k_len);
                store_c_block(c, 32);
            }
        }
        for (int r = 0; r < block_rows; r++) {
            float *y_row = y + (i0 + r) * out + o0;
            for (int64_t j0 = 0; j0 < cols; j0 += 16) {
                const __mmask16 mask = cols - j0 >= 16 ? 0xffff : (__mmask16)((1u << (cols - j0)) - 1u);
                __m512 v = _mm512_load_ps(c_rows + (j0 / AMX_NR) * 32 * 32 + r * 32 + j0 % AMX_NR);
                if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, bias + o0 + j0));
                _mm512_mask_storeu_ps(y_row + j0, mask, v);
            }
        }
    }
}

bool mkv_matmul_amx(float *y, const float *x, int64_t n, const mkv_tensor *w, const float *bias) {
    const int64_t in = w->ne[0], out = w->ne[1];
    if (n <= 0 || out <= 0) return true;
    if (mkv_isa_avx512bf16.nr != AMX_NR || in <= 0) return false;
    const size_t row_bytes = mkv_dtype_row_bytes(w->dtype, in);
    const int64_t k_pad = (in + 31) / 32 * 32;
    const int64_t chunk = n < AMX_ROW_CHUNK ? n : AMX_ROW_CHUNK;
    const int64_t chunk_pad = (chunk + 31) / 32 * 32;
    const int n_threads = omp_in_parallel() ? 1 : omp_get_max_threads();
    const int64_t nc = columns_per_item(out, k_pad, chunk, n_threads);
    const int64_t n_items = (out + nc - 1) / nc;
    const int team = n_items < n_threads ? (int)n_items : n_threads;
    /* per thread: the W block (nc columns x k_pad as pair slots) and the C tiles of a row block (32 x nc) */
    const size_t w_floats = (size_t)nc * (size_t)(k_pad / 2);
    const size_t c_floats = (size_t)(nc / AMX_NR) * 32 * 32, per_thread = w_floats + c_floats;
    const size_t x_bytes = (size_t)chunk_pad * (size_t)k_pad * sizeof(uint16_t);
    unsigned char *scratch = mkv_malloc(x_bytes + 64 + (size_t)team * per_thread * sizeof(float), "AMX matmul scratch");
    if (!scratch) return false;
    uint16_t *x_tiles = (uint16_t *)(void *)scratch;
    float *thread_base = (float *)(void *)(scratch + (x_bytes + 63) / 64 * 64);

    for (int64_t r0 = 0; r0 < n; r0 += chunk) {
        const int64_t rows = n - r0 < chunk ? n - r0 : chunk;
        round_rows_to_tiles(x + r0 * in, in, rows, (rows + 31) / 32 * 32, k_pad, x_tiles);
#pragma omp parallel num_threads(team)
        {
            float *w_block = thread_base + (size_t)omp_get_thread_num() * per_thread;
            mkv_amx_begin();
#pragma omp for schedule(dynamic, 1)
            for (int64_t item = 0; item < n_items; item++) {
                const int64_t o0 = item * nc, cols = out - o0 < nc ? out - o0 : nc;
                gemm_work_item(x_tiles, rows, k_pad, w, row_bytes, o0, cols, bias, y + r0 * out, out, w_block,
                               w_block + w_floats);
            }
            mkv_amx_end();
        }
    }
    mkv_free(scratch);
    return true;
}

/* ------------------------------------------------------------ attention */

void mkv_amx_scores(const uint16_t *keys, int64_t key_stride, int n_keys, int head_dim, const float *q_pairs,
                    int64_t q_panel_floats, int n_panels, float *scores, int key_tile, uint16_t *pad, float *stage) {
    for (int g = 0; g < n_keys; g += 32) {
        const int rows = n_keys - g < 32 ? n_keys - g : 32;
        const uint16_t *a = keys + (int64_t)g * key_stride;
        int64_t a_stride = key_stride;
        if (rows < 32) { /* the last keys of the head: copy them into a zeroed block (no read past the store) */
            memset(pad, 0, (size_t)32 * head_dim * sizeof *pad);
            for (int r = 0; r < rows; r++) memcpy(pad + (size_t)r * head_dim, a + r * key_stride, (size_t)head_dim * 2);
            a = pad;
            a_stride = head_dim;
        }
        for (int p = 0; p < n_panels; p++)
            gemm_block_2x2(a, a_stride, q_pairs + p * q_panel_floats, AMX_NR, head_dim,
                           scores + ((int64_t)p * key_tile + g) * AMX_NR, AMX_NR, rows, AMX_NR, stage);
    }
}

/* ------------------------------------------------ softmax and votes
 * Every probability of the tile path is 2^t, t = s * c - m: s the raw score
 * from the tiles, c = scale * log2(e) (score_factor), m the row's
 * running max in the same units (the max raw score times c; rounding is
 * monotone, c > 0). One FMA forms t; 2^t = 2^round(t) (scalef) times a
 * degree-5 polynomial for 2^f on f = t - round(t) in [-1/2, 1/2] (within 3
 * ulp of 2^f, fitted for this file). That is 10 vector operations per 16
 * scores where scaling, subtracting the max and the f32 path's Cephes exp
 * (kernels_avx512.c) take 16. t's own rounding adds a relative error of at
 * most |t| 2^-24 ln 2 (5e-7 for p = e^-10); P is rounded to bf16 (2^-9) for
 * P.V anyway. The softmax with pairs, with f32 P, the votes and the online
 * rescale all use it, so the votes see pass 1's probabilities bit for bit. */
static inline __m512 exp2_tile(__m512 t) {
    t = _mm512_max_ps(t, _mm512_set1_ps(-150.0f)); /* NaN -> -150 -> 0, as the f32 path's exp */
    const __m512 n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512 f = _mm512_sub_ps(t, n);
    __m512 p = _mm512_set1_ps(1.3265670277e-3f);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.6715139225e-3f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.5507306010e-2f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.4022242427e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.9314700365e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

static float score_factor(float scale) { return scale * 1.44269504088896341f; }

/* Interleaves two rows of 16 bf16 (lo, hi of cvtne2ps_pbh(p1, p0)) into 16
 * pair slots (p0[i], p1[i]). */
static const uint16_t pair_interleave[32] __attribute__((aligned(64))) = {
    0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};

/* One online-softmax tile for 16 query lanes of a 32-query panel: P as bf16
 * pair slots (pairs) or as f32 in place of the scores. */
static inline __attribute__((always_inline)) void softmax16(int n_keys, float *scores, __m512 c, int lane0,
                                                            float *row_max, float *row_sum, float *out_t, int head_dim,
                                                            bool first, bool pairs, float *p_pairs) {
    __m512 raw_max = _mm512_set1_ps(-INFINITY);
    for (int j = 0; j < n_keys; j++) raw_max = _mm512_max_ps(raw_max, _mm512_load_ps(scores + j * AMX_NR + lane0));
    const __m512 tile_max = _mm512_mul_ps(raw_max, c);
    const __m512 old_max = first ? tile_max : _mm512_loadu_ps(row_max + lane0);
    const __m512 new_max = _mm512_max_ps(old_max, tile_max);
    __m512 tile_sum = _mm512_setzero_ps();
    int j = 0;
    if (pairs) {
        const __m512i interleave = _mm512_load_si512((const void *)pair_interleave);
        for (; j + 1 < n_keys; j += 2) {
            const __m512 p0 = exp2_tile(_mm512_fmsub_ps(_mm512_load_ps(scores + j * AMX_NR + lane0), c, new_max));
            const __m512 p1 = exp2_tile(_mm512_fmsub_ps(_mm512_load_ps(scores + (j + 1) * AMX_NR + lane0), c, new_max));
            tile_sum = _mm512_add_ps(_mm512_add_ps(tile_sum, p0), p1);
            const __m512i rows = (__m512i)_mm512_cvtne2ps_pbh(p1, p0);
            _mm512_store_si512((void *)(p_pairs + (j / 2) * AMX_NR + lane0), _mm512_permutexvar_epi16(interleave, rows));
        }
    }
    for (; j < n_keys; j++) { /* f32 P, or the odd last key of the pairs: the pair (p, 0) */
        const __m512 p = exp2_tile(_mm512_fmsub_ps(_mm512_load_ps(scores + j * AMX_NR + lane0), c, new_max));
        tile_sum = _mm512_add_ps(tile_sum, p);
        if (pairs)
            _mm512_store_si512((void *)(p_pairs + (j / 2) * AMX_NR + lane0),
                               _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(p)));
        else
            _mm512_store_ps(scores + j * AMX_NR + lane0, p);
    }
    const __m512 rescale = first ? _mm512_set1_ps(1.0f) : exp2_tile(_mm512_sub_ps(old_max, new_max));
    softmax_state_update16(first, rescale, new_max, tile_sum, row_max + lane0, row_sum + lane0, out_t + lane0,
                           head_dim, AMX_NR);
}

void mkv_amx_softmax_pairs(int n_keys, float *scores, float scale, float *row_max, float *row_sum, float *out_t,
                           int head_dim, bool first, float *p_pairs, int padded_slots) {
    const __m512 c = _mm512_set1_ps(score_factor(scale));
    for (int lane0 = 0; lane0 < AMX_NR; lane0 += 16)
        softmax16(n_keys, scores, c, lane0, row_max, row_sum, out_t, head_dim, first, true, p_pairs);
    const int used = (n_keys + 1) / 2;
    if (padded_slots > used) memset(p_pairs + used * AMX_NR, 0, (size_t)(padded_slots - used) * AMX_NR * sizeof(float));
}

void mkv_amx_softmax_tile(int n_keys, float *scores, float scale, float *row_max, float *row_sum, float *out_t,
                          int head_dim, bool first) {
    const __m512 c = _mm512_set1_ps(score_factor(scale));
    for (int lane0 = 0; lane0 < AMX_NR; lane0 += 16)
        softmax16(n_keys, scores, c, lane0, row_max, row_sum, out_t, head_dim, first, false, NULL);
}

void mkv_amx_vote_tile(int n_keys, const float *scores, float scale, const float *row_max, const float *inv_row_sum,
                       float *key_votes) {
    const __m512 c = _mm512_set1_ps(score_factor(scale));
    const __m512 max0 = _mm512_loadu_ps(row_max), max1 = _mm512_loadu_ps(row_max + 16);
    const __m512 inv0 = _mm512_loadu_ps(inv_row_sum), inv1 = _mm512_loadu_ps(inv_row_sum + 16);
    for (int j = 0; j < n_keys; j++) {
        const __m512 p0 = _mm512_mul_ps(exp2_tile(_mm512_fmsub_ps(_mm512_load_ps(scores + j * AMX_NR), c, max0)), inv0);
        const __m512 p1 =
            _mm512_mul_ps(exp2_tile(_mm512_fmsub_ps(_mm512_load_ps(scores + j * AMX_NR + 16), c, max1)), inv1);
        key_votes[j] += _mm512_reduce_add_ps(_mm512_add_ps(p0, p1));
    }
}

void mkv_amx_values(const uint16_t *v_t, int64_t vt_stride, int n_keys, int head_dim, const float *p_pairs,
                    int64_t p_panel_floats, int n_panels, float *out_t, bool first) {
    const int64_t k_pad = (n_keys + 31) / 32 * 32;
    for (int c = 0; c < head_dim; c += 32)
        for (int p = 0; p < n_panels; p++) {
            float *o = out_t + ((int64_t)p * head_dim + c) * AMX_NR;
            if (first) zero_c_block();
            else load_c_block(o, AMX_NR);
            accumulate_2x2_rows(v_t + (int64_t)c * vt_stride, vt_stride, p_pairs + p * p_panel_floats, AMX_NR, k_pad);
            store_c_block(o, AMX_NR);
        }
}

void mkv_amx_transpose_values(const uint16_t *v, int64_t stride, int64_t n_keys, int head_dim, uint16_t *v_t,
                              int64_t vt_stride) {
    enum { B = 16 };
    for (int64_t j0 = 0; j0 < n_keys; j0 += B)
        for (int c0 = 0; c0 < head_dim; c0 += B) {
            const int64_t jn = n_keys - j0 < B ? n_keys - j0 : B;
            const int cn = head_dim - c0 < B ? head_dim - c0 : B;
            for (int64_t j = 0; j < jn; j++)
                for (int c = 0; c < cn; c++) v_t[(int64_t)(c0 + c) * vt_stride + j0 + j] = v[(j0 + j) * stride + c0 + c];
        }
    for (int c = 0; c < head_dim; c++)
        memset(v_t + (int64_t)c * vt_stride + n_keys, 0, (size_t)(vt_stride - n_keys) * sizeof *v_t);
}
