/* Deterministic random numbers (xoshiro256**, seeded through splitmix64):
 * the same --seed gives the same samples at any thread count, because only
 * the sampler (single-threaded) draws from it. */
#ifndef MKV_RNG_H
#define MKV_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} mkv_rng;

static inline uint64_t mkv_splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline void mkv_rng_seed(mkv_rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) r->s[i] = mkv_splitmix64(&seed);
}

static inline uint64_t mkv_rng_next(mkv_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = ((s[1] * 5) << 7 | (s[1] * 5) >> 57) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return result;
}

/* Uniform in the open interval (0, 1). */
static inline double mkv_rng_uniform(mkv_rng *r) {
    return ((double)(mkv_rng_next(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

#endif
