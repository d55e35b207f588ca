/* Unicode Normalization Form C (UAX #15): canonical decomposition, canonical
 * ordering, canonical composition. Qwen2's tokenizer.json (Dream) has an NFC
 * normalizer; HF `tokenizers` applies it before pre-tokenization. */
#include <string.h>

#include "tokenizer/tokenizer_internal.h"
#include "tokenizer/unicode_tables.h"
#include "util/alloc.h"

enum {
    HANGUL_S0 = 0xAC00, HANGUL_L0 = 0x1100, HANGUL_V0 = 0x1161, HANGUL_T0 = 0x11A7,
    HANGUL_LN = 19, HANGUL_VN = 21, HANGUL_TN = 28, HANGUL_NN = HANGUL_VN * HANGUL_TN, HANGUL_SN = HANGUL_LN * HANGUL_NN,
};

static uint32_t range_value(const mkv_uc_range *ranges, int count, uint32_t cp) {
    int lo = 0, hi = count - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (cp < ranges[mid].first) hi = mid - 1;
        else if (cp > ranges[mid].last) lo = mid + 1;
        else return ranges[mid].value;
    }
    return 0;
}

static unsigned ccc(uint32_t cp) {
    if (cp < 0x300) return 0;
    return range_value(mkv_uc_ccc, mkv_uc_ccc_count, cp);
}

static bool nfc_maybe(uint32_t cp) {
    if (cp < 0x300) return false;
    return range_value(mkv_uc_nfc_maybe, mkv_uc_nfc_maybe_count, cp) != 0;
}

static const mkv_uc_decomp *find_decomp(uint32_t cp) {
    int lo = 0, hi = mkv_uc_decomp_count - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (cp < mkv_uc_decomps[mid].cp) hi = mid - 1;
        else if (cp > mkv_uc_decomps[mid].cp) lo = mid + 1;
        else return &mkv_uc_decomps[mid];
    }
    return NULL;
}

/* Primary composite of (a, b), or 0. */
static uint32_t compose(uint32_t a, uint32_t b) {
    if (a >= HANGUL_L0 && a < HANGUL_L0 + HANGUL_LN && b >= HANGUL_V0 && b < HANGUL_V0 + HANGUL_VN)
        return HANGUL_S0 + ((a - HANGUL_L0) * HANGUL_VN + (b - HANGUL_V0)) * HANGUL_TN;
    if (a >= HANGUL_S0 && a < HANGUL_S0 + HANGUL_SN && (a - HANGUL_S0) % HANGUL_TN == 0 && b > HANGUL_T0 &&
        b < HANGUL_T0 + HANGUL_TN)
        return a + (b - HANGUL_T0);
    int lo = 0, hi = mkv_uc_comp_count - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const mkv_uc_comp *c = &mkv_uc_comps[mid];
        if (a < c->first || (a == c->first && b < c->second)) hi = mid - 1;
        else if (a > c->first || b > c->second) lo = mid + 1;
        else return c->composite;
    }
    return 0;
}

/* Appends the full canonical decomposition of cp. */
static size_t decompose(uint32_t cp, uint32_t *out) {
    if (cp >= HANGUL_S0 && cp < HANGUL_S0 + HANGUL_SN) {
        uint32_t s = cp - HANGUL_S0;
        out[0] = HANGUL_L0 + s / HANGUL_NN;
        out[1] = HANGUL_V0 + (s % HANGUL_NN) / HANGUL_TN;
        if (s % HANGUL_TN == 0) return 2;
        out[2] = HANGUL_T0 + s % HANGUL_TN;
        return 3;
    }
    const mkv_uc_decomp *d = cp >= 0xC0 ? find_decomp(cp) : NULL;
    if (!d) {
        out[0] = cp;
        return 1;
    }
    memcpy(out, mkv_uc_decomp_pool + d->offset, d->len * sizeof *out);
    return d->len;
}

mkv_status mkv_nfc(const char *s, size_t n, const char **out, size_t *out_len, char **owned) {
    *out = s;
    *out_len = n;
    *owned = NULL;
    const unsigned char *p = (const unsigned char *)s;
    /* Fast path: a text without any code point that NFC can touch is unchanged. */
    size_t n_cps = 0;
    bool maybe = false;
    for (size_t i = 0; i < n;) {
        if (p[i] < 0x80) {
            i++;
            n_cps++;
            continue;
        }
        int len = mkv_utf8_sequence_length(p + i, n - i);
        if (len == 0) return mkv_fail(MKV_ERR_INPUT, "invalid UTF-8 at byte %zu", i);
        if (!maybe && nfc_maybe(mkv_utf8_decode(p + i, len))) maybe = true;
        i += (size_t)len;
        n_cps++;
    }
    if (!maybe) return MKV_OK;

    /* The longest full decomposition is 18 code points (U+FDFA is compatibility
     * only; canonical ones are at most 4), Hangul 3: 4 per code point bounds it. */
    uint32_t *cps = mkv_malloc((n_cps * 4 + 1) * sizeof *cps, "NFC buffer");
    if (!cps) return mkv_last_status();
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        int len = p[i] < 0x80 ? 1 : mkv_utf8_sequence_length(p + i, n - i);
        m += decompose(mkv_utf8_decode(p + i, len), cps + m);
        i += (size_t)len;
    }
    /* Canonical ordering: stable insertion sort of each run of non-starters. */
    for (size_t i = 1; i < m; i++) {
        unsigned c = ccc(cps[i]);
        if (c == 0) continue;
        size_t j = i;
        uint32_t cp = cps[i];
        while (j > 0) {
            unsigned prev = ccc(cps[j - 1]);
            if (prev == 0 || prev <= c) break;
            cps[j] = cps[j - 1];
            j--;
        }
        cps[j] = cp;
    }
    /* Canonical composition (UAX #15 reference algorithm). */
    size_t starter = 0, w = 1;
    unsigned last_class = ccc(cps[0]);
    if (last_class != 0) last_class = 256; /* no starter yet: nothing composes */
    for (size_t i = 1; i < m; i++) {
        uint32_t cp = cps[i];
        unsigned c = ccc(cp);
        uint32_t composite = last_class == 256 ? 0 : compose(cps[starter], cp);
        if (composite && (last_class < c || last_class == 0)) {
            cps[starter] = composite;
            continue;
        }
        if (c == 0) starter = w;
        last_class = c;
        cps[w++] = cp;
    }
    char *buf = mkv_malloc(w * 4 + 1, "NFC text");
    if (!buf) {
        mkv_free(cps);
        return mkv_last_status();
    }
    size_t o = 0;
    for (size_t i = 0; i < w; i++) o += (size_t)mkv_utf8_encode(cps[i], buf + o);
    buf[o] = '\0';
    mkv_free(cps);
    *out = buf;
    *out_len = o;
    *owned = buf;
    return MKV_OK;
}
