#include "generate/answer_match.h"

#include <string.h>

bool mkv_answer_match_parse(const char *name, mkv_answer_match *out) {
    if (!strcmp(name, "exact")) *out = MKV_MATCH_EXACT;
    else if (!strcmp(name, "codes")) *out = MKV_MATCH_CODES;
    else return false;
    return true;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* Start of the next run of digits at or after s (its length in *len), or NULL. */
static const char *next_number(const char *s, size_t *len) {
    while (*s && !is_digit(*s)) s++;
    if (!*s) return NULL;
    size_t n = 0;
    while (is_digit(s[n])) n++;
    *len = n;
    return s;
}

static bool same_numbers(const char *a, const char *b) {
    for (;;) {
        size_t la = 0, lb = 0;
        const char *na = next_number(a, &la), *nb = next_number(b, &lb);
        if (!na || !nb) return !na && !nb;
        if (la != lb || memcmp(na, nb, la) != 0) return false;
        a = na + la;
        b = nb + lb;
    }
}

bool mkv_answer_matches(const char *answer, const char *reference, mkv_answer_match match) {
    if (match == MKV_MATCH_CODES) return same_numbers(answer, reference);
    return strcmp(answer, reference) == 0;
}
