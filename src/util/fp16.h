/* Half-precision conversions (IEEE f16 and bfloat16), scalar and exact.
 * f32 -> bf16 rounds to nearest even like PyTorch and the gguf package. */
#ifndef MKV_FP16_H
#define MKV_FP16_H

#include <stdint.h>
#include <string.h>

static inline uint32_t mkv_f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float mkv_bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

static inline float mkv_bf16_to_f32(uint16_t h) { return mkv_bits_f32((uint32_t)h << 16); }

static inline uint16_t mkv_f32_to_bf16(float f) {
    uint32_t u = mkv_f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* f32 -> bf16 as the AVX512-BF16 instruction vcvtneps2bf16 rounds: nearest
 * even, subnormal inputs to a signed zero, NaN quieted (the scalar twin of
 * the bf16 compute path's rounding; it differs from mkv_f32_to_bf16 only
 * for f32 subnormals). */
static inline uint16_t mkv_f32_to_bf16_ftz(float f) {
    uint32_t u = mkv_f32_bits(f);
    if ((u & 0x7f800000u) == 0) return (uint16_t)((u >> 16) & 0x8000u);
    return mkv_f32_to_bf16(f);
}

static inline float mkv_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    if (exp == 0) {
        if (mant == 0) return mkv_bits_f32(sign);
        /* subnormal: value = mant * 2^-24 */
        float v = (float)mant * (1.0f / 16777216.0f);
        return sign ? -v : v;
    }
    if (exp == 31) return mkv_bits_f32(sign | 0x7f800000u | (mant << 13));
    return mkv_bits_f32(sign | ((exp + 112u) << 23) | (mant << 13));
}

static inline uint16_t mkv_f32_to_f16(float f) {
    uint32_t u = mkv_f32_bits(f);
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t abs = u & 0x7fffffffu;
    if (abs > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);          /* NaN */
    if (abs >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);         /* overflow -> inf */
    if (abs < 0x38800000u) {                                           /* subnormal / zero */
        /* round-to-nearest-even of abs * 2^24 */
        float v = mkv_bits_f32(abs) * 16777216.0f;
        uint32_t m = (uint32_t)v;
        float rem = v - (float)m;
        if (rem > 0.5f || (rem == 0.5f && (m & 1u))) m++;
        return (uint16_t)(sign | m);
    }
    uint32_t mant_odd = (abs >> 13) & 1u;
    abs += 0xfffu + mant_odd;
    return (uint16_t)(sign | (((abs >> 23) - 112u) << 10) | ((abs >> 13) & 0x3ffu));
}

#endif
