/* Checked parsing of option values (public, maskkv.h): the messages name
 * the flag, so that the CLI, bindings and servers report bad values alike. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "maskkv.h"
#include "util/alloc.h"

static mkv_status missing(const char *flag) { return mkv_fail(MKV_ERR_USAGE, "%s needs a value", flag); }

static bool is_integer_text(const char *text) {
    const char *p = text + (*text == '-' || *text == '+');
    if (!*p) return false;
    for (; *p; p++)
        if (*p < '0' || *p > '9') return false;
    return true;
}

bool mkv_parse_long(const char *flag, const char *text, long min, long max, long *out) {
    if (!text) return missing(flag), false;
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno == ERANGE && is_integer_text(text)) {
        mkv_fail(MKV_ERR_USAGE, "%s: %s is out of range [%ld, %ld]", flag, text, min, max);
        return false;
    }
    if (errno || end == text || *end != '\0') {
        mkv_fail(MKV_ERR_USAGE, "%s: '%s' is not an integer", flag, text);
        return false;
    }
    if (v < min || v > max) {
        mkv_fail(MKV_ERR_USAGE, "%s: %ld is out of range [%ld, %ld]", flag, v, min, max);
        return false;
    }
    *out = v;
    return true;
}

bool mkv_parse_int(const char *flag, const char *text, int min, int max, int *out) {
    long v;
    if (!mkv_parse_long(flag, text, min, max, &v)) return false;
    *out = (int)v;
    return true;
}

bool mkv_parse_u64(const char *flag, const char *text, uint64_t *out) {
    if (!text) return missing(flag), false;
    if (!is_integer_text(text) || text[0] == '+') {
        mkv_fail(MKV_ERR_USAGE, "%s: '%s' is not an integer", flag, text);
        return false;
    }
    errno = 0;
    unsigned long long v = text[0] == '-' ? 0 : strtoull(text, NULL, 10);
    if (text[0] == '-' || errno == ERANGE) {
        mkv_fail(MKV_ERR_USAGE, "%s: %s is out of range [0, %llu]", flag, text, (unsigned long long)UINT64_MAX);
        return false;
    }
    *out = (uint64_t)v;
    return true;
}

bool mkv_parse_float(const char *flag, const char *text, double min, double max, double *out) {
    if (!text) return missing(flag), false;
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end != '\0' || !isfinite(v)) {
        mkv_fail(MKV_ERR_USAGE, "%s: '%s' is not a number", flag, text);
        return false;
    }
    if (v < min || v > max) {
        mkv_fail(MKV_ERR_USAGE, "%s: %g is out of range [%g, %g]", flag, v, min, max);
        return false;
    }
    *out = v;
    return true;
}

bool mkv_parse_bytes(const char *flag, const char *text, size_t *out) {
    if (!text) return missing(flag), false;
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || !isfinite(v) || v < 0) {
        mkv_fail(MKV_ERR_USAGE, "%s: '%s' is not a size (e.g. 512M, 8G)", flag, text);
        return false;
    }
    double scale = 1;
    if (*end == 'K' || *end == 'k') scale = 1024.0, end++;
    else if (*end == 'M' || *end == 'm') scale = 1024.0 * 1024, end++;
    else if (*end == 'G' || *end == 'g') scale = 1024.0 * 1024 * 1024, end++;
    if (*end == 'B' || *end == 'b') end++;
    if (*end != '\0' || v * scale > 1e18) {
        mkv_fail(MKV_ERR_USAGE, "%s: '%s' is not a size (e.g. 512M, 8G)", flag, text);
        return false;
    }
    *out = (size_t)(v * scale);
    return true;
}

bool mkv_parse_id_list(const char *flag, const char *text, int32_t **out_ids, int *out_n) {
    *out_ids = NULL;
    *out_n = 0;
    if (!text) return missing(flag), false;
    size_t cap = strlen(text) / 2 + 1;
    int32_t *ids = mkv_malloc(cap * sizeof *ids, "token id list");
    if (!ids) return false;
    int n = 0;
    const char *p = text;
    for (;;) {
        while (*p == ' ' || *p == ',' || *p == '\t' || *p == '\n') p++;
        if (!*p) break;
        char *end = NULL;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno || v < 0 || v > INT32_MAX || (*end && *end != ' ' && *end != ',' && *end != '\t' && *end != '\n')) {
            mkv_fail(MKV_ERR_USAGE, "%s: '%.20s' is not a token id (non-negative integer)", flag, p);
            mkv_free(ids);
            return false;
        }
        ids[n++] = (int32_t)v;
        p = end;
    }
    if (n == 0) {
        mkv_fail(MKV_ERR_INPUT, "%s: no token ids given", flag);
        mkv_free(ids);
        return false;
    }
    *out_ids = ids;
    *out_n = n;
    return true;
}
