/* Internals of the byte-level BPE tokenizer, shared by the loaders
 * (tokenizer.json, GGUF), the encoder/decoder and the tests. Nothing here is
 * part of the public API. */
#ifndef MKV_TOKENIZER_INTERNAL_H
#define MKV_TOKENIZER_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tokenizer/tokenizer.h"

/* llama.cpp token types (tokenizer.ggml.token_type). */
enum {
    MKV_TOKEN_TYPE_UNDEFINED = 0,
    MKV_TOKEN_TYPE_NORMAL = 1,
    MKV_TOKEN_TYPE_UNKNOWN = 2,
    MKV_TOKEN_TYPE_CONTROL = 3,
    MKV_TOKEN_TYPE_USER_DEFINED = 4,
    MKV_TOKEN_TYPE_UNUSED = 5,
    MKV_TOKEN_TYPE_BYTE = 6,
};

/* Ids are bounded so that a hostile file cannot make us allocate per-id
 * tables of gigabytes (the largest real vocabularies are ~260k). */
#define MKV_TOKENIZER_MAX_ID (1 << 24)

/* ------------------------------------------------------------ UTF-8 */
/* Length of the valid UTF-8 sequence at s (1..4), or 0 when the bytes at s
 * are not valid UTF-8 (overlong, surrogate, > U+10FFFF, truncated). */
int mkv_utf8_sequence_length(const unsigned char *s, size_t n);
/* True when s[0..n) is valid UTF-8; else *bad_offset = first invalid byte. */
bool mkv_utf8_validate(const char *s, size_t n, size_t *bad_offset);
/* Decodes the code point of a valid sequence of `len` bytes. */
uint32_t mkv_utf8_decode(const unsigned char *s, int len);
int mkv_utf8_encode(uint32_t cp, char *out);
/* Copies s replacing each maximal invalid subsequence by U+FFFD, as Python's
 * bytes.decode("utf-8", "replace") and Rust's String::from_utf8_lossy do.
 * Returns a NUL-terminated mkv_malloc'd string (NULL on out-of-memory). */
char *mkv_utf8_lossy(const char *s, size_t n, size_t *out_len);
/* Rust's char::is_whitespace (the White_Space property). */
bool mkv_uc_is_whitespace(uint32_t cp);
/* Bounds of s[0..n) without leading/trailing Python whitespace (str.strip()). */
void mkv_py_strip_bounds(const char *s, size_t n, size_t *start, size_t *end);

/* ------------------------------------------------------------ NFC */
/* NFC of s[0..n) (valid UTF-8). *out is s itself when s is already in NFC
 * (nothing allocated, *owned = NULL) or an mkv_malloc'd buffer (*owned). */
mkv_status mkv_nfc(const char *s, size_t n, const char **out, size_t *out_len, char **owned);

/* ------------------------------------------------------------ hash map of strings -> ids */
typedef struct {
    int32_t *slots;     /* value (id or index), -1 = empty */
    uint32_t *hashes;
    uint32_t mask;      /* capacity - 1 */
    uint32_t count;
} mkv_strmap;

uint32_t mkv_hash_bytes(const void *data, size_t len);
mkv_status mkv_strmap_init(mkv_strmap *m, uint32_t expected);
void mkv_strmap_free(mkv_strmap *m);

/* ------------------------------------------------------------ pre-tokenizer */
typedef enum {
    MKV_SPLIT_REMOVED = 0,
    MKV_SPLIT_ISOLATED,
    MKV_SPLIT_MERGED_WITH_PREVIOUS,
    MKV_SPLIT_MERGED_WITH_NEXT,
    MKV_SPLIT_CONTIGUOUS,
} mkv_split_behavior;

typedef enum { MKV_PRE_SPLIT = 0, MKV_PRE_DIGITS, MKV_PRE_BYTELEVEL } mkv_pre_kind;

typedef struct {
    mkv_pre_kind kind;
    pcre2_code *regex;        /* Split (regex pattern), ByteLevel with use_regex, Digits */
    char *literal;            /* Split with a String pattern */
    size_t literal_len;
    mkv_split_behavior behavior;
    bool invert;
    bool add_prefix_space;    /* ByteLevel */
} mkv_pre_step;

/* Regexes of the pre-tokenizers llama.cpp names in tokenizer.ggml.pre, as
 * written in the models' tokenizer.json (HF `tokenizers` runs them with
 * Oniguruma; PCRE2 accepts the same syntax, possessive quantifiers included). */
extern const char *const mkv_regex_gpt2;
extern const char *const mkv_regex_llama3;
extern const char *const mkv_regex_qwen2;
extern const char *const mkv_regex_bailingmoe;

/* ------------------------------------------------------------ the tokenizer */
typedef struct {
    char *text;            /* NUL-terminated; NULL for an id that has no token */
    uint32_t len;
    uint8_t type;          /* MKV_TOKEN_TYPE_* */
    bool in_model_vocab;   /* in model.vocab (BPE symbols); added tokens may not be */
    bool special;          /* skipped by decode with MKV_DETOKENIZE_SKIP_SPECIAL */
    int32_t added_index;   /* index into mkv_tokenizer.added, -1 if not an added token */
} mkv_token_entry;

typedef struct {
    int32_t id;
    char *content;         /* as given in the file */
    uint32_t len;
    char *match;           /* as matched and decoded: the normalized content of a
                              normalized token, else == content */
    uint32_t match_len;
    bool special, lstrip, rstrip, single_word, normalized;
} mkv_added_token;

/* Byte trie over added-token contents, for leftmost-longest matching. */
typedef struct {
    int32_t first_child, next_sibling;
    int32_t added_index;   /* token ending here, -1 if none */
    uint8_t byte;
} mkv_trie_node;

typedef struct {
    mkv_trie_node *nodes;
    int32_t n_nodes, cap_nodes;
    bool first_byte[256];
} mkv_trie;

typedef struct {
    uint64_t key;          /* left << 32 | right; UINT64_MAX = empty */
    uint32_t rank;
    int32_t new_id;
} mkv_merge_slot;

typedef enum { MKV_DECODER_BYTELEVEL = 0, MKV_DECODER_NONE } mkv_decoder_kind;

struct mkv_tokenizer {
    char name[256];                 /* file name, for error messages */

    mkv_token_entry *tokens;        /* [n_tokens], indexed by id */
    int32_t n_tokens;               /* max id + 1 */
    int32_t n_model_vocab;          /* entries of model.vocab (HF's model vocab size) */
    mkv_strmap vocab_map;           /* model vocab text -> id */

    mkv_added_token *added;         /* [n_added] in file order */
    int32_t n_added, cap_added;
    mkv_strmap added_map;           /* added content -> index into `added` */
    mkv_trie trie_raw;              /* added tokens with normalized = false */
    mkv_trie trie_normalized;       /* added tokens with normalized = true */
    pcre2_code *word_char_regex;    /* [\p{Alphabetic}\p{N}_] for single_word */

    mkv_merge_slot *merge_slots;    /* hash (left, right) -> (rank, new id) */
    uint32_t merge_mask;
    int32_t n_merges;
    char **merge_text;              /* [n_merges] "left right", by rank */

    int32_t byte_id[256];           /* id of the one-symbol token of each byte, -1 if none */
    uint32_t byte_char[256];        /* GPT-2 bytes_to_unicode */
    int16_t char_byte[324];         /* inverse for code points < 324, -1 if none */

    bool ignore_merges;
    bool byte_fallback;
    bool fuse_unk;
    int32_t unk_id;                 /* -1 when none */

    bool normalize_nfc;
    mkv_pre_step *pre;              /* pre-tokenizer steps, ByteLevel last */
    int n_pre;
    mkv_decoder_kind decoder;
    char pre_name[64];              /* tokenizer.ggml.pre */

    int32_t *prefix_ids, *suffix_ids; /* post-processor (add_special_tokens) */
    int n_prefix, n_suffix;
    int32_t bos_id, eos_id;         /* -1 when unknown */
    bool add_bos;

    pcre2_general_context *pcre_context;
};

/* Shared loader steps (tokenizer.c). */
mkv_status mkv_tokenizer_alloc(const char *name, mkv_tokenizer **out);
/* Sets every token entry from `texts` (id -> text, NULL for holes), builds the
 * vocab map for ids with in_model_vocab. */
mkv_status mkv_tokenizer_set_tokens(mkv_tokenizer *tok, int32_t n_tokens);
mkv_status mkv_tokenizer_set_token(mkv_tokenizer *tok, int32_t id, const char *text, size_t len, uint8_t type,
                                   bool in_model_vocab, bool special);
mkv_status mkv_tokenizer_build_vocab_map(mkv_tokenizer *tok);
mkv_status mkv_tokenizer_add_added(mkv_tokenizer *tok, int32_t id, const char *content, size_t len, bool special,
                                   bool lstrip, bool rstrip, bool single_word, bool normalized);
/* Merges in rank order; left/right must be model-vocab tokens and their
 * concatenation too (MKV_ERR_FORMAT naming `where` otherwise). */
mkv_status mkv_tokenizer_reserve_merges(mkv_tokenizer *tok, int32_t n_merges);
mkv_status mkv_tokenizer_add_merge(mkv_tokenizer *tok, const char *left, size_t left_len, const char *right,
                                   size_t right_len, const char *where);
mkv_status mkv_tokenizer_compile_regex(mkv_tokenizer *tok, const char *pattern, size_t len, pcre2_code **out);
mkv_status mkv_tokenizer_add_pre_step(mkv_tokenizer *tok, const mkv_pre_step *step);
/* Finishes loading: byte table, tries, checks that a ByteLevel step ends the
 * pre-tokenizer. */
mkv_status mkv_tokenizer_finish(mkv_tokenizer *tok);
/* Looks a model-vocab token up, -1 if absent. */
int32_t mkv_tokenizer_vocab_find(const mkv_tokenizer *tok, const char *text, size_t len);
int32_t mkv_tokenizer_added_find(const mkv_tokenizer *tok, const char *text, size_t len);

/* Sets the pre-tokenizer, normalizer and BPE options of a tokenizer.ggml.pre
 * name; false for an unknown name. */
mkv_status mkv_tokenizer_apply_pre_name(mkv_tokenizer *tok, const char *pre, bool *known);

#endif
