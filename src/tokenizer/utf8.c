/* UTF-8 validation, decoding and lossy repair (as Python and Rust do it). */
#include <string.h>

#include "tokenizer/tokenizer_internal.h"
#include "util/alloc.h"

/* Length of the longest prefix of s[0..n) that could still start a valid
 * sequence ("maximal subpart"), at least 1; used for lossy repair. Returns
 * the full length when the sequence is valid. */
static int utf8_scan(const unsigned char *s, size_t n, bool *valid) {
    unsigned char c = s[0];
    int need;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    *valid = false;
    if (c < 0x80) {
        *valid = true;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0) lo = 0xA0;       /* overlong */
        else if (c == 0xED) hi = 0x9F;  /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0) lo = 0x90;       /* overlong */
        else if (c == 0xF4) hi = 0x8F;  /* > U+10FFFF */
    } else {
        return 1; /* 0x80..0xC1, 0xF5..0xFF never start a sequence */
    }
    for (int i = 1; i <= need; i++) {
        if ((size_t)i >= n) return i;
        unsigned char b = s[i];
        unsigned char l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
        if (b < l || b > h) return i;
    }
    *valid = true;
    return need + 1;
}

int mkv_utf8_sequence_length(const unsigned char *s, size_t n) {
    bool valid;
    int len = utf8_scan(s, n, &valid);
    return valid ? len : 0;
}

bool mkv_utf8_validate(const char *s, size_t n, size_t *bad_offset) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        int len = mkv_utf8_sequence_length(p + i, n - i);
        if (len == 0) {
            if (bad_offset) *bad_offset = i;
            return false;
        }
        i += (size_t)len;
    }
    return true;
}

uint32_t mkv_utf8_decode(const unsigned char *s, int len) {
    switch (len) {
    case 1: return s[0];
    case 2: return ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
    case 3: return ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    default:
        return ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) | ((uint32_t)(s[2] & 0x3F) << 6) |
               (s[3] & 0x3F);
    }
}

int mkv_utf8_encode(uint32_t cp, char *out) {
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

char *mkv_utf8_lossy(const char *s, size_t n, size_t *out_len) {
    /* Each invalid byte becomes at most 3 bytes (U+FFFD). */
    if (n > (SIZE_MAX - 1) / 3) {
        mkv_fail(MKV_ERR_NOMEM, "text of %zu bytes is too long", n);
        return NULL;
    }
    char *out = mkv_malloc(n * 3 + 1, "tokenizer text");
    if (!out) return NULL;
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, o = 0;
    while (i < n) {
        bool valid;
        int len = utf8_scan(p + i, n - i, &valid);
        if (valid) {
            memcpy(out + o, p + i, (size_t)len);
            o += (size_t)len;
        } else {
            o += (size_t)mkv_utf8_encode(0xFFFD, out + o);
        }
        i += (size_t)len;
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

bool mkv_uc_is_whitespace(uint32_t cp) {
    if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
    if (cp < 0x85) return false;
    switch (cp) {
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
        return true;
    default:
        return cp >= 0x2000 && cp <= 0x200A;
    }
}
