/* Loading an HF checkpoint directory: config.json, tokenizer files and
 * safetensors shards. Tensor views point into the mapped shards in their
 * own dtype (F32/F16/BF16) under GGUF names; RoPE is NeoX style (no
 * permutation, unlike llama.cpp's LLaDA GGUF). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/hf_config.h"
#include "formats/safetensors.h"
#include "model/load_internal.h"
#include "tokenizer/tokenizer.h"
#include "util/alloc.h"

/* ------------------------------------------------------------ tensor names */

typedef struct {
    const char *hf;   /* after the block prefix, without .weight/.bias */
    const char *gguf; /* after "blk.N." */
} name_pair;

/* llama.cpp's gguf-py tensor_mapping.py entries for LLaDA and Dream (Qwen2). */
static const name_pair block_names[] = {
    {"attn_norm", "attn_norm"},       {"q_proj", "attn_q"},           {"k_proj", "attn_k"},
    {"v_proj", "attn_v"},             {"attn_out", "attn_output"},    {"ff_norm", "ffn_norm"},
    {"ff_proj", "ffn_gate"},          {"up_proj", "ffn_up"},          {"ff_out", "ffn_down"},
    {"input_layernorm", "attn_norm"}, {"self_attn.q_proj", "attn_q"}, {"self_attn.k_proj", "attn_k"},
    {"self_attn.v_proj", "attn_v"},   {"self_attn.o_proj", "attn_output"},
    {"post_attention_layernorm", "ffn_norm"}, {"mlp.gate_proj", "ffn_gate"}, {"mlp.up_proj", "ffn_up"},
    {"mlp.down_proj", "ffn_down"},
};

static const name_pair global_names[] = {
    {"model.transformer.wte", "token_embd"}, {"model.transformer.ln_f", "output_norm"},
    {"model.transformer.ff_out", "output"},  {"model.embed_tokens", "token_embd"},
    {"model.norm", "output_norm"},           {"lm_head", "output"},
};

static const char *const block_prefixes[] = {"model.transformer.blocks.", "model.layers."};

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int mkv_hf_tensor_name_to_gguf(const char *hf_name, char *out, size_t out_size, int *block) {
    *block = -1;
    /* llama.cpp's converter drops these. */
    if (ends_with(hf_name, ".attention.masked_bias") || ends_with(hf_name, ".attention.bias") ||
        ends_with(hf_name, ".rotary_emb.inv_freq"))
        return 0;
    const char *suffix = ends_with(hf_name, ".weight") ? ".weight" : ends_with(hf_name, ".bias") ? ".bias" : NULL;
    if (!suffix) return -1;
    size_t stem_len = strlen(hf_name) - strlen(suffix);
    for (size_t p = 0; p < sizeof block_prefixes / sizeof block_prefixes[0]; p++) {
        size_t plen = strlen(block_prefixes[p]);
        if (strncmp(hf_name, block_prefixes[p], plen) != 0) continue;
        const char *s = hf_name + plen;
        if (*s < '0' || *s > '9') return -1;
        long n = 0;
        while (*s >= '0' && *s <= '9') {
            n = n * 10 + (*s - '0');
            if (n > 1 << 20) return -1;
            s++;
        }
        if (*s != '.') return -1;
        s++;
        size_t rest_len = (size_t)(hf_name + stem_len - s);
        for (size_t i = 0; i < sizeof block_names / sizeof block_names[0]; i++) {
            if (strlen(block_names[i].hf) == rest_len && strncmp(s, block_names[i].hf, rest_len) == 0) {
                *block = (int)n;
                return snprintf(out, out_size, "blk.%ld.%s%s", n, block_names[i].gguf, suffix) < (int)out_size ? 1 : -1;
            }
        }
        return -1;
    }
    for (size_t i = 0; i < sizeof global_names / sizeof global_names[0]; i++) {
        if (strlen(global_names[i].hf) == stem_len && strncmp(hf_name, global_names[i].hf, stem_len) == 0)
            return snprintf(out, out_size, "%s%s", global_names[i].gguf, suffix) < (int)out_size ? 1 : -1;
    }
    return -1;
}

/* ------------------------------------------------------------ special ids */

static int32_t lookup(const mkv_tokenizer *tok, const char *text) {
    if (!tok || !text) return -1;
    return mkv_tokenizer_find(tok, text);
}

/* The precedence of llama.cpp's SpecialVocab, so that an HF directory and
 * the GGUF converted from it agree: tokenizer_config.json's token string
 * (resolved in the tokenizer), else config.json's id, else
 * generation_config.json's. (Dream's tokenizer_config names <|beginoftext|>
 * as BOS while its config.json says <|endoftext|>; llama.cpp's GGUF has the
 * former.) */
static int32_t special_id(int32_t from_config, const cJSON *generation_config, const char *gen_key,
                          const cJSON *tokenizer_config, const char *tc_key, const mkv_tokenizer *tok) {
    int32_t id = lookup(tok, mkv_hf_token_content(tokenizer_config, tc_key));
    if (id >= 0) return id;
    if (from_config >= 0) return from_config;
    return gen_key ? mkv_hf_json_id(generation_config, gen_key) : -1;
}

/* ------------------------------------------------------------ loading */

/* Every tensor under its GGUF name; the highest block index seen and the
 * tensor that has it go to *max_block / max_block_name, checked against
 * n_layers once the hyper-parameters themselves are known to be sane. */
static mkv_status collect_tensors(mkv_model *model, const mkv_safetensors_set *set, int *max_block, char *max_block_name,
                                  size_t name_size) {
    *max_block = -1;
    int64_t total = 0;
    for (int f = 0; f < mkv_safetensors_set_n_files(set); f++) total += mkv_safetensors_n_tensors(mkv_safetensors_set_file(set, f));
    if (total > 1 << 20) return mkv_fail(MKV_ERR_FORMAT, "%s: %lld tensors is too many", model->path, (long long)total);
    model->tensors = mkv_calloc(total ? (size_t)total : 1, sizeof *model->tensors, "model tensors");
    if (!model->tensors) return mkv_last_status();
    for (int f = 0; f < mkv_safetensors_set_n_files(set); f++) {
        const mkv_safetensors *file = mkv_safetensors_set_file(set, f);
        for (int64_t i = 0; i < mkv_safetensors_n_tensors(file); i++) {
            const mkv_tensor *t = mkv_safetensors_tensor(file, i);
            char name[sizeof t->name];
            int block;
            int mapped = mkv_hf_tensor_name_to_gguf(t->name, name, sizeof name, &block);
            if (mapped == 0) continue;
            if (mapped < 0)
                return mkv_fail(MKV_ERR_UNSUPPORTED, "%s: tensor '%s' is not a weight of LLaDA or Dream", mkv_safetensors_name(file),
                                t->name);
            if (block > *max_block) {
                *max_block = block;
                snprintf(max_block_name, name_size, "%s", t->name);
            }
            mkv_tensor *dst = &model->tensors[model->n_tensors++];
            *dst = *t;
            memcpy(dst->name, name, sizeof name);
        }
    }
    return mkv_model_index_tensors(model); /* and refuses two tensors that map to one name */
}

mkv_status mkv_load_hf_dir(mkv_model *model, const char *dir) {
    model->source = MKV_SOURCE_HF_DIR;
    mkv_hf_config cfg;
    cJSON *tokenizer_config = NULL, *generation_config = NULL;
    mkv_safetensors_set *set = NULL;
    char path[4096];
    mkv_status st = mkv_hf_config_load(dir, &cfg);
    if (st) return st;
    model->arch = cfg.arch;

    /* tokenizer.json, else the slow tokenizer's vocab.json + merges.txt; a
     * directory with neither has no tokenizer; files that fail to load are
     * an error. */
    const char *tokenizer_source;
    if ((st = mkv_tokenizer_load_dir(dir, &model->tokenizer, &tokenizer_source))) goto done;
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    if ((st = mkv_hf_read_json(path, true, &tokenizer_config))) goto done;
    snprintf(path, sizeof path, "%s/generation_config.json", dir);
    if ((st = mkv_hf_read_json(path, true, &generation_config))) goto done;
    if ((st = mkv_hf_chat_template(dir, tokenizer_config, &model->chat_template))) goto done;

    mkv_hparams *hp = &model->hp;
    hp->arch = cfg.arch->arch;
    hp->n_layers = cfg.n_layers;
    hp->d_model = cfg.d_model;
    hp->n_heads = cfg.n_heads;
    hp->n_kv_heads = cfg.n_kv_heads;
    hp->head_dim = cfg.head_dim;
    hp->d_ff = cfg.d_ff;
    hp->n_vocab = cfg.n_vocab;
    hp->n_ctx = cfg.n_ctx;
    hp->rope_theta = cfg.rope_theta;
    hp->norm_eps = cfg.norm_eps;
    hp->rope_style = cfg.arch->hf_rope_style;
    hp->has_qkv_bias = cfg.arch->has_qkv_bias;
    hp->shift_logits = cfg.arch->shift_logits;
    const mkv_tokenizer *tok = model->tokenizer;
    /* As llama.cpp's SpecialVocab: tokenizer_config.json's token strings are
     * resolved through tokenizer.json's added tokens only, so without
     * tokenizer.json (a stock Dream folder) config.json's ids decide, and the
     * GGUF converted from the folder agrees with it. */
    const cJSON *named = tokenizer_source && !strcmp(tokenizer_source, "tokenizer.json") ? tokenizer_config : NULL;
    hp->mask_id = special_id(cfg.mask_id, NULL, NULL, named, "mask_token", tok);
    if (hp->mask_id < 0) hp->mask_id = lookup(tok, mkv_arch_mask_token(hp->arch));
    hp->bos_id = special_id(cfg.bos_id, generation_config, "bos_token_id", named, "bos_token", tok);
    hp->eos_id = special_id(cfg.eos_id, generation_config, "eos_token_id", named, "eos_token", tok);
    hp->pad_id = special_id(cfg.pad_id, generation_config, "pad_token_id", named, "pad_token", tok);
    hp->eot_id = lookup(tok, mkv_arch_eot_token(hp->arch));
    /* The tokenizer's own BOS/EOS (from tokenizer.json) yield to the model's metadata. */
    if (model->tokenizer) {
        int n_tok = mkv_tokenizer_n_vocab(model->tokenizer);
        if ((st = mkv_tokenizer_set_special(model->tokenizer, hp->bos_id < n_tok ? hp->bos_id : -1,
                                            hp->eos_id < n_tok ? hp->eos_id : -1, -1)))
            goto done;
    }
    if (tok && mkv_tokenizer_n_vocab(tok) > hp->n_vocab) {
        st = mkv_fail(MKV_ERR_FORMAT, "%s: the tokenizer has %d tokens but the model's vocabulary is %d", dir,
                      mkv_tokenizer_n_vocab(tok), hp->n_vocab);
        goto done;
    }

    if ((st = mkv_safetensors_open_dir(dir, &set))) goto done;
    int n_files = mkv_safetensors_set_n_files(set);
    model->mappings = mkv_calloc((size_t)n_files, sizeof *model->mappings, "model file mappings");
    if (!model->mappings) {
        st = mkv_last_status();
        goto done;
    }
    mkv_safetensors_set_take_mappings(set, model->mappings);
    model->n_mappings = n_files;
    int max_block;
    char max_block_name[128];
    if ((st = collect_tensors(model, set, &max_block, max_block_name, sizeof max_block_name))) goto done;
    if (!mkv_model_find_tensor(model, "output.weight") && !cfg.tied_embeddings) {
        st = mkv_fail(MKV_ERR_FORMAT, "%s: no LM head (%s) and config.json does not tie it to the embedding", dir,
                      hp->arch == MKV_ARCH_LLADA ? "model.transformer.ff_out.weight" : "lm_head.weight");
        goto done;
    }
    if ((st = mkv_model_align_tensor_data(model))) goto done;
    if ((st = mkv_model_bind_weights(model))) goto done;
    if (max_block >= hp->n_layers)
        st = mkv_fail(MKV_ERR_FORMAT, "%s: tensor '%s' is in block %d but config.json has %d layers", dir, max_block_name,
                      max_block, hp->n_layers);
done:
    mkv_safetensors_set_close(set);
    cJSON_Delete(tokenizer_config);
    cJSON_Delete(generation_config);
    mkv_hf_config_free(&cfg);
    return st;
}
