/* Unicode data for NFC normalization (generated into unicode_tables.c by
 * make_unicode_tables.py). Every table is sorted by code point. */
#ifndef MKV_UNICODE_TABLES_H
#define MKV_UNICODE_TABLES_H

#include <stdint.h>

typedef struct {
    uint32_t first, last; /* inclusive */
    uint32_t value;
} mkv_uc_range;

typedef struct {
    uint32_t cp;
    uint16_t offset; /* into mkv_uc_decomp_pool */
    uint8_t len;
} mkv_uc_decomp;

typedef struct {
    uint32_t first, second, composite;
} mkv_uc_comp;

/* Canonical combining class (value) of each range; absent = 0. */
extern const mkv_uc_range mkv_uc_ccc[];
extern const int mkv_uc_ccc_count;
/* Code points that can change, or make a neighbour change, under NFC. A text
 * without any of them is already in NFC. */
extern const mkv_uc_range mkv_uc_nfc_maybe[];
extern const int mkv_uc_nfc_maybe_count;
/* Full (recursive) canonical decompositions, Hangul syllables excluded. */
extern const mkv_uc_decomp mkv_uc_decomps[];
extern const int mkv_uc_decomp_count;
extern const uint32_t mkv_uc_decomp_pool[];
typedef struct {
    const char *property;  /* "L", "N", ...: a \p{...} general category */
    const char *extra;     /* class ranges Oniguruma (HF) includes beyond PCRE2 */
} mkv_uc_class_extra;

/* Code points newer Unicode data puts in a general category, written as
 * PCRE2 class ranges ("\x{1C89}-\x{1C8A}..."), added to \p{...} in
 * pre-tokenizer regexes so that PCRE2 classifies as HF's Oniguruma does. */
extern const mkv_uc_class_extra mkv_uc_regex_extras[];
extern const int mkv_uc_regex_extra_count;
/* Primary composites by (first, second), Hangul excluded. */
extern const mkv_uc_comp mkv_uc_comps[];
extern const int mkv_uc_comp_count;

#endif
