/* HF checkpoint JSON files: config.json (hyper-parameters of LLaDA and
 * Dream), tokenizer_config.json / generation_config.json (special tokens,
 * chat template), and llama.cpp's SpecialVocab rules (what its converter
 * writes as tokenizer.ggml.*_token_id / add_*_token). */
#ifndef MKV_HF_CONFIG_H
#define MKV_HF_CONFIG_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "maskkv.h"
#include "model/arch.h"

#define MKV_HF_MAX_JSON_BYTES ((size_t)256 << 20)

typedef struct {
    cJSON *json;                /* the parsed config.json, for keys copied verbatim */
    const mkv_arch_desc *arch;
    int n_layers;
    int d_model;
    int n_heads;
    int n_kv_heads;             /* = n_heads when the config has none */
    int head_dim;               /* "head_dim" key, else d_model / n_heads */
    int d_ff;
    int vocab_size;             /* "vocab_size" (tokenizer size) */
    int n_vocab;                /* rows of the embedding: LLaDA's embedding_size, else vocab_size */
    int n_ctx;
    float rope_theta;
    float norm_eps;
    bool tied_embeddings;       /* LLaDA weight_tying / Dream tie_word_embeddings */
    int32_t mask_id, bos_id, eos_id, pad_id; /* from config.json; -1 when absent */
} mkv_hf_config;

/* Reads DIR/config.json. MKV_ERR_IO when missing, MKV_ERR_FORMAT for invalid
 * JSON or a bad/missing hyper-parameter, MKV_ERR_UNSUPPORTED for an
 * architecture other than LLaDA and Dream. */
mkv_status mkv_hf_config_load(const char *dir, mkv_hf_config *out);
/* The same from text (`name` in messages). */
mkv_status mkv_hf_config_parse(const char *json, size_t len, const char *name, mkv_hf_config *out);
void mkv_hf_config_free(mkv_hf_config *cfg);

/* Reads and parses a JSON file; with `optional`, a missing file gives
 * MKV_OK and *out = NULL. Free with cJSON_Delete. */
mkv_status mkv_hf_read_json(const char *path, bool optional, cJSON **out);

/* A token string from tokenizer_config.json: "bos_token": "<s>" or
 * {"content": "<s>", ...}; NULL when absent. */
const char *mkv_hf_token_content(const cJSON *tokenizer_config, const char *field);
/* The first integer of `field` in `json` (an integer or a list of integers);
 * -1 when absent or not an integer. */
int32_t mkv_hf_json_id(const cJSON *json, const char *field);

/* The chat template of a checkpoint: tokenizer_config.json "chat_template"
 * (a string, or the "default" entry of a list of {name, template}), else
 * chat_template.jinja, else chat_template.json. *out = NULL when none;
 * mkv_free it. */
mkv_status mkv_hf_chat_template(const char *dir, const cJSON *tokenizer_config, char **out);

/* llama.cpp's gguf.SpecialVocab(dir, load_merges=True): special-token ids
 * from tokenizer_config.json's *_token strings resolved through
 * tokenizer.json's added_tokens, then config.json's *_token_id; add_*_token
 * flags from tokenizer_config.json and tokenizer.json's post_processor. */
typedef enum {
    MKV_SPECIAL_BOS, MKV_SPECIAL_EOS, MKV_SPECIAL_UNK, MKV_SPECIAL_SEP, MKV_SPECIAL_PAD, MKV_SPECIAL_CLS,
    MKV_SPECIAL_MASK, MKV_SPECIAL_EOT, MKV_SPECIAL_EOM, MKV_SPECIAL_COUNT
} mkv_special_kind;

typedef struct {
    int64_t ids[MKV_SPECIAL_COUNT];     /* -1 when unset */
    int add[MKV_SPECIAL_COUNT];         /* -1 unset, 0 false, 1 true */
    /* The order in which ids were set (gguf-py writes keys in that order). */
    mkv_special_kind id_order[MKV_SPECIAL_COUNT];
    int n_ids;
    mkv_special_kind add_order[MKV_SPECIAL_COUNT];
    int n_adds;
    char *chat_template;                /* mkv_malloc'd or NULL */
} mkv_hf_special_vocab;

/* "bos", "eos", ... as in the GGUF key names (tokenizer.ggml.<name>_token_id;
 * "pad" is written as "padding"). */
const char *mkv_special_kind_name(mkv_special_kind kind);
mkv_status mkv_hf_special_vocab_load(const char *dir, mkv_hf_special_vocab *out);
void mkv_hf_special_vocab_free(mkv_hf_special_vocab *sv);

/* gguf-py's Metadata heuristics for a model id ("org/Name-8B-Instruct-v2",
 * a directory name or config.json's _name_or_path): what llama.cpp's
 * converter writes as general.name / organization / basename / finetune /
 * version / size_label. Fields are mkv_malloc'd or NULL. */
typedef struct {
    char *name;         /* the model part of the id, not yet title-cased */
    char *organization;
    char *basename;
    char *finetune;
    char *version;
    char *size_label;
} mkv_hf_model_id;

mkv_status mkv_hf_model_id_parse(const char *model_id, int64_t total_params, mkv_hf_model_id *out);
void mkv_hf_model_id_free(mkv_hf_model_id *id);
/* Metadata.id_to_title: "llada-8b-instruct" -> "Llada 8b Instruct" (words
 * already capitalized, versions and numbers are kept). mkv_free the result. */
char *mkv_hf_id_to_title(const char *id);

#endif
