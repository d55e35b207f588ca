/* GGUF tokenizer loader: tokenizer.ggml.{model,tokens,token_type,merges,pre,
 * bos/eos_token_id,add_bos/eos_token}. The pre-tokenizer, normalizer and BPE
 * options come from the tokenizer.ggml.pre name, mapped to what the model's
 * own tokenizer.json says (HF parity), not to llama.cpp's adapted regexes. */
#include <stdio.h>
#include <string.h>

#include "tokenizer/tokenizer_internal.h"
#include "util/alloc.h"

/* The pre-tokenizer regexes exactly as in the models' tokenizer.json. */
const char *const mkv_regex_gpt2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const char *const mkv_regex_llama3 =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
    "\\s+(?!\\S)|\\s+";
const char *const mkv_regex_qwen2 =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
    "\\s+(?!\\S)|\\s+";
/* Ling / BailingMoE (Ant Group): the tokenizer of LLaDA-8B, whose 126k
 * vocabulary and special tokens ([gMASK], <role>, <|arithmetic_start|>) are
 * Ling's. llama.cpp's converter knows it by hash as "bailingmoe". */
const char *const mkv_regex_bailingmoe =
    "'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|"
    "\\s+";

typedef enum { PRE_GPT2, PRE_LLAMA3, PRE_QWEN2, PRE_BAILINGMOE } pre_family;

static const struct {
    const char *name;
    pre_family family;
} pre_names[] = {
    {"gpt-2", PRE_GPT2},          {"phi-2", PRE_GPT2},          {"llama-bpe", PRE_LLAMA3},
    {"llama3", PRE_LLAMA3},       {"llama-v3", PRE_LLAMA3},     {"qwen2", PRE_QWEN2},
    {"deepseek-r1-qwen", PRE_QWEN2}, {"bailingmoe", PRE_BAILINGMOE}, {"bailingmoe2", PRE_BAILINGMOE},
    {"llada-moe", PRE_BAILINGMOE}, {"llada", PRE_BAILINGMOE},
};

mkv_status mkv_tokenizer_apply_pre_name(mkv_tokenizer *tok, const char *pre, bool *known) {
    *known = false;
    int family = -1;
    for (size_t i = 0; i < sizeof pre_names / sizeof pre_names[0]; i++)
        if (!strcmp(pre, pre_names[i].name)) family = (int)pre_names[i].family;
    if (family < 0) return MKV_OK;
    *known = true;
    snprintf(tok->pre_name, sizeof tok->pre_name, "%s", pre);
    mkv_status st;
    mkv_pre_step split, byte_level;
    memset(&split, 0, sizeof split);
    memset(&byte_level, 0, sizeof byte_level);
    byte_level.kind = MKV_PRE_BYTELEVEL;
    byte_level.behavior = MKV_SPLIT_ISOLATED;
    if (family == PRE_GPT2) { /* ByteLevel(add_prefix_space=false, use_regex=true) */
        if ((st = mkv_tokenizer_compile_regex(tok, mkv_regex_gpt2, strlen(mkv_regex_gpt2), &byte_level.regex))) return st;
    } else { /* Sequence[Split(regex, Isolated), ByteLevel(use_regex=false)] */
        const char *re = family == PRE_LLAMA3 ? mkv_regex_llama3 : family == PRE_QWEN2 ? mkv_regex_qwen2 : mkv_regex_bailingmoe;
        split.kind = MKV_PRE_SPLIT;
        split.behavior = MKV_SPLIT_ISOLATED;
        if ((st = mkv_tokenizer_compile_regex(tok, re, strlen(re), &split.regex))) return st;
        if ((st = mkv_tokenizer_add_pre_step(tok, &split))) {
            pcre2_code_free(split.regex);
            return st;
        }
    }
    if ((st = mkv_tokenizer_add_pre_step(tok, &byte_level))) {
        if (byte_level.regex) pcre2_code_free(byte_level.regex);
        return st;
    }
    tok->normalize_nfc = family == PRE_QWEN2;          /* Qwen2's tokenizer.json: NFC */
    tok->ignore_merges = family == PRE_LLAMA3;         /* LLaMA-3's: ignore_merges */
    tok->add_bos = family == PRE_LLAMA3;               /* llama.cpp's default for llama3 */
    return MKV_OK;
}

static mkv_status load(mkv_tokenizer *tok, const mkv_gguf *g) {
    const char *name = tok->name;
    mkv_status st;
    mkv_gguf_str model;
    if (!mkv_gguf_get_str(g, "tokenizer.ggml.model", &model))
        return mkv_fail(MKV_ERR_FORMAT, "%s: no tokenizer (tokenizer.ggml.model is missing)", name);
    if (model.len != 4 || memcmp(model.data, "gpt2", 4) != 0)
        return mkv_fail(MKV_ERR_UNSUPPORTED, "%s: tokenizer.ggml.model '%.*s' is not supported (only gpt2 byte-level BPE)",
                        name, (int)(model.len > 32 ? 32 : model.len), model.data);
    mkv_gguf_type elem;
    uint64_t n_tokens;
    if (!mkv_gguf_get_arr_info(g, "tokenizer.ggml.tokens", &elem, &n_tokens) || elem != MKV_GGUF_STRING)
        return mkv_fail(MKV_ERR_FORMAT, "%s: tokenizer.ggml.tokens is missing or not a string array", name);
    if (n_tokens == 0 || n_tokens > MKV_TOKENIZER_MAX_ID)
        return mkv_fail(MKV_ERR_FORMAT, "%s: tokenizer.ggml.tokens has %llu entries", name, (unsigned long long)n_tokens);
    uint64_t n_types = 0;
    bool has_types = mkv_gguf_get_arr_info(g, "tokenizer.ggml.token_type", &elem, &n_types);
    if (has_types && n_types != n_tokens)
        return mkv_fail(MKV_ERR_FORMAT, "%s: tokenizer.ggml.token_type has %llu entries for %llu tokens", name,
                        (unsigned long long)n_types, (unsigned long long)n_tokens);

    mkv_gguf_str pre;
    if (!mkv_gguf_get_str(g, "tokenizer.ggml.pre", &pre))
        return mkv_fail(MKV_ERR_UNSUPPORTED, "%s: tokenizer.ggml.pre is missing (the pre-tokenizer is unknown)", name);
    char pre_name[64];
    snprintf(pre_name, sizeof pre_name, "%.*s", (int)(pre.len > 63 ? 63 : pre.len), pre.data);
    bool known;
    if ((st = mkv_tokenizer_apply_pre_name(tok, pre_name, &known))) return st;
    if (!known)
        return mkv_fail(MKV_ERR_UNSUPPORTED,
                        "%s: tokenizer.ggml.pre '%s' is not supported (known: gpt-2, llama-bpe, qwen2, bailingmoe)", name,
                        pre_name);

    if ((st = mkv_tokenizer_set_tokens(tok, (int32_t)n_tokens))) return st;
    int32_t n_vocab = 0;
    for (uint64_t i = 0; i < n_tokens; i++) {
        mkv_gguf_str text;
        if (!mkv_gguf_get_arr_str(g, "tokenizer.ggml.tokens", i, &text))
            return mkv_fail(MKV_ERR_FORMAT, "%s: tokenizer.ggml.tokens[%llu] is unreadable", name, (unsigned long long)i);
        int64_t type = MKV_TOKEN_TYPE_NORMAL;
        if (has_types && !mkv_gguf_get_arr_i64(g, "tokenizer.ggml.token_type", i, &type))
            return mkv_fail(MKV_ERR_FORMAT, "%s: tokenizer.ggml.token_type is not an integer array", name);
        if (type < 0 || type > MKV_TOKEN_TYPE_BYTE)
            return mkv_fail(MKV_ERR_FORMAT, "%s: token %llu has unknown type %lld", name, (unsigned long long)i,
                            (long long)type);
        bool unused = type == MKV_TOKEN_TYPE_UNUSED;
        bool special = type == MKV_TOKEN_TYPE_CONTROL;
        if ((st = mkv_tokenizer_set_token(tok, (int32_t)i, text.data, text.len, (uint8_t)type, !unused, special)))
            return st;
        if (!unused) n_vocab++;
    }
    tok->n_model_vocab = n_vocab;
    if ((st = mkv_tokenizer_build_vocab_map(tok))) return st;
    /* Control and user-defined tokens are the added tokens, matched before BPE
     * (GGUF keeps no lstrip/rstrip/single_word/normalized flags). */
    for (int32_t i = 0; i < tok->n_tokens; i++) {
        uint8_t type = tok->tokens[i].type;
        if (type != MKV_TOKEN_TYPE_CONTROL && type != MKV_TOKEN_TYPE_USER_DEFINED) continue;
        if ((st = mkv_tokenizer_add_added(tok, i, tok->tokens[i].text, tok->tokens[i].len,
                                          type == MKV_TOKEN_TYPE_CONTROL, false, false, false, false)))
            return st;
    }

    uint64_t n_merges = 0;
    if (mkv_gguf_get_arr_info(g, "tokenizer.ggml.merges", &elem, &n_merges)) {
        if (elem != MKV_GGUF_STRING || n_merges > MKV_TOKENIZER_MAX_ID)
            return mkv_fail(MKV_ERR_FORMAT, "%s: tokenizer.ggml.merges is not a string array", name);
    }
    if ((st = mkv_tokenizer_reserve_merges(tok, (int32_t)n_merges))) return st;
    for (uint64_t i = 0; i < n_merges; i++) {
        mkv_gguf_str m;
        char where[48];
        snprintf(where, sizeof where, "tokenizer.ggml.merges[%llu]", (unsigned long long)i);
        if (!mkv_gguf_get_arr_str(g, "tokenizer.ggml.merges", i, &m))
            return mkv_fail(MKV_ERR_FORMAT, "%s: %s is unreadable", name, where);
        /* As llama.cpp: the separator is the first space after the first byte. */
        const char *space = m.len > 1 ? memchr(m.data + 1, ' ', m.len - 1) : NULL;
        if (!space) return mkv_fail(MKV_ERR_FORMAT, "%s: %s has no space", name, where);
        size_t left = (size_t)(space - m.data);
        if ((st = mkv_tokenizer_add_merge(tok, m.data, left, space + 1, m.len - left - 1, where))) return st;
    }

    static const char *const id_keys[2] = {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"};
    int32_t *id_out[2] = {&tok->bos_id, &tok->eos_id};
    for (int k = 0; k < 2; k++) {
        if (mkv_gguf_find_key(g, id_keys[k]) < 0) continue;
        uint32_t id;
        if (!mkv_gguf_get_u32(g, id_keys[k], &id) || id >= (uint32_t)tok->n_tokens)
            return mkv_fail(MKV_ERR_FORMAT, "%s: %s is not a token id", name, id_keys[k]);
        *id_out[k] = (int32_t)id;
    }
    bool add_bos = tok->add_bos, add_eos = false;
    if (mkv_gguf_find_key(g, "tokenizer.ggml.add_bos_token") >= 0 &&
        !mkv_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &add_bos))
        return mkv_fail(MKV_ERR_FORMAT, "%s: tokenizer.ggml.add_bos_token is not a bool", name);
    if (mkv_gguf_find_key(g, "tokenizer.ggml.add_eos_token") >= 0 &&
        !mkv_gguf_get_bool(g, "tokenizer.ggml.add_eos_token", &add_eos))
        return mkv_fail(MKV_ERR_FORMAT, "%s: tokenizer.ggml.add_eos_token is not a bool", name);
    tok->add_bos = add_bos && tok->bos_id >= 0;
    if (tok->add_bos) {
        tok->prefix_ids = mkv_malloc(sizeof *tok->prefix_ids, "tokenizer post-processor");
        if (!tok->prefix_ids) return mkv_last_status();
        tok->prefix_ids[0] = tok->bos_id;
        tok->n_prefix = 1;
    }
    if (add_eos && tok->eos_id >= 0) {
        tok->suffix_ids = mkv_malloc(sizeof *tok->suffix_ids, "tokenizer post-processor");
        if (!tok->suffix_ids) return mkv_last_status();
        tok->suffix_ids[0] = tok->eos_id;
        tok->n_suffix = 1;
    }
    return mkv_tokenizer_finish(tok);
}

mkv_status mkv_tokenizer_load_gguf(const mkv_gguf *gguf, mkv_tokenizer **out) {
    *out = NULL;
    mkv_tokenizer *tok;
    mkv_status st = mkv_tokenizer_alloc(mkv_gguf_name(gguf), &tok);
    if (st) return st;
    if ((st = load(tok, gguf))) {
        mkv_tokenizer_free(tok);
        return st;
    }
    *out = tok;
    return MKV_OK;
}
