/* The AVX-512 exp of the attention's softmax, shared by kernels_avx512.c
 * and kernels_amx.c (both compiled with AVX-512 target pragmas; include it
 * after them). */
#ifndef MKV_EXP_AVX512_H
#define MKV_EXP_AVX512_H

#include <immintrin.h>
#include <stdbool.h>

/* exp(x) as Cephes' expf: x = n ln2 + r, |r| <= ln2/2, degree-6 polynomial
 * for exp(r), then scale by 2^n (scalef underflows gracefully to 0). About
 * 1 ulp against libm's expf. */
static inline __m512 exp_avx512(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-104.0f)), _mm512_set1_ps(88.7228f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

/* The end of an online-softmax tile for 16 query lanes: the running sum
 * (row_sum * rescale + the tile's sum, or the tile's sum for the first
 * tile), the output columns out_t[c * stride] times the same rescale (e^(old
 * max - new max), in the caller's exp), and the new running max. */
static inline void softmax_state_update16(bool first, __m512 rescale, __m512 new_max, __m512 tile_sum, float *row_max,
                                          float *row_sum, float *out_t, int head_dim, int stride) {
    if (first) {
        _mm512_storeu_ps(row_sum, tile_sum);
    } else {
        _mm512_storeu_ps(row_sum, _mm512_fmadd_ps(_mm512_loadu_ps(row_sum), rescale, tile_sum));
        for (int c = 0; c < head_dim; c++)
            _mm512_store_ps(out_t + c * stride, _mm512_mul_ps(_mm512_load_ps(out_t + c * stride), rescale));
    }
    _mm512_storeu_ps(row_max, new_max);
}

#endif
