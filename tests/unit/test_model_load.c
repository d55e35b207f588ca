/* Model loading from both sources: HF checkpoint directories and GGUF files
 * built here (every validation error, with its status and message), and the
 * shipped tiny models (tests/models), whose HF and GGUF forms must give the
 * same hyper-parameters and, after dequantization (and llama.cpp's q/k row
 * permutation for LLaDA), the same weights. */
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/gguf_writer.h"
#include "formats/hf_config.h"
#include "model/load_internal.h"
#include "model/model.h"
#include "test.h"
#include "util/alloc.h"
#include "util/dtype.h"
#include "util/fp16.h"

/* ------------------------------------------------------------ HF directories */

typedef struct {
    bool dream;
    int n_layers, d_model, n_heads, n_kv_heads, d_ff, vocab;
    bool bf16;
    bool tie;              /* no LM head; the config ties it to the embedding */
    bool no_head;          /* no LM head and no tying */
    bool two_shards;       /* model-0000{1,2}-of-00002 + index.json */
    const char *skip;      /* HF tensor left out */
    const char *bad_shape; /* HF tensor written with one row too many */
    const char *extra;     /* an extra HF tensor (4 elements) */
    const char *config_extra; /* JSON members placed first (they win over later duplicates) */
    const char *config_text;  /* the whole config.json instead */
    bool nan;              /* a NaN in the first block's attention norm */
    bool odd_header;       /* header length leaves the data misaligned */
} hf_spec;

static hf_spec llada_spec(void) {
    return (hf_spec){.n_layers = 2, .d_model = 64, .n_heads = 4, .n_kv_heads = 4, .d_ff = 96, .vocab = 80};
}
static hf_spec dream_spec(void) {
    return (hf_spec){.dream = true, .n_layers = 2, .d_model = 64, .n_heads = 4, .n_kv_heads = 2, .d_ff = 80, .vocab = 72};
}

static float weight_value(const char *name, int64_t i) {
    uint32_t h = 2166136261u;
    for (const char *c = name; *c; c++) h = (h ^ (uint8_t)*c) * 16777619u;
    h ^= (uint32_t)(i * 2654435761u);
    h = (h ^ (h >> 15)) * 2246822519u;
    return (float)((h >> 8) % 2001) / 1000.0f - 1.0f;
}

typedef struct {
    char name[128];
    int n_dims;
    int64_t shape[2]; /* PyTorch order: [out][in] */
} hf_tensor;

static int hf_tensors(const hf_spec *s, hf_tensor *out) {
    int n = 0, hd = s->d_model / s->n_heads, q = s->n_heads * hd, kv = s->n_kv_heads * hd;
#define ADD(nm, a, b)                                                                     \
    do {                                                                                  \
        snprintf(out[n].name, sizeof out[n].name, "%s", nm);                              \
        out[n].n_dims = (b) ? 2 : 1;                                                      \
        out[n].shape[0] = a;                                                              \
        out[n].shape[1] = b;                                                              \
        n++;                                                                              \
    } while (0)
    char name[128];
    bool head = !s->tie && !s->no_head;
    if (!s->dream) {
        ADD("model.transformer.wte.weight", s->vocab, s->d_model);
        ADD("model.transformer.ln_f.weight", s->d_model, 0);
        if (head) ADD("model.transformer.ff_out.weight", s->vocab, s->d_model);
        for (int l = 0; l < s->n_layers; l++) {
#define B(suffix, a, b)                                                             \
    do {                                                                            \
        snprintf(name, sizeof name, "model.transformer.blocks.%d.%s", l, suffix);   \
        ADD(name, a, b);                                                            \
    } while (0)
            B("attn_norm.weight", s->d_model, 0);
            B("q_proj.weight", q, s->d_model);
            B("k_proj.weight", kv, s->d_model);
            B("v_proj.weight", kv, s->d_model);
            B("attn_out.weight", s->d_model, q);
            B("ff_norm.weight", s->d_model, 0);
            B("ff_proj.weight", s->d_ff, s->d_model);
            B("up_proj.weight", s->d_ff, s->d_model);
            B("ff_out.weight", s->d_model, s->d_ff);
#undef B
        }
    } else {
        ADD("model.embed_tokens.weight", s->vocab, s->d_model);
        ADD("model.norm.weight", s->d_model, 0);
        if (head) ADD("lm_head.weight", s->vocab, s->d_model);
        for (int l = 0; l < s->n_layers; l++) {
#define B(suffix, a, b)                                                             \
    do {                                                                            \
        snprintf(name, sizeof name, "model.layers.%d.%s", l, suffix);               \
        ADD(name, a, b);                                                            \
    } while (0)
            B("input_layernorm.weight", s->d_model, 0);
            B("self_attn.q_proj.weight", q, s->d_model);
            B("self_attn.q_proj.bias", q, 0);
            B("self_attn.k_proj.weight", kv, s->d_model);
            B("self_attn.k_proj.bias", kv, 0);
            B("self_attn.v_proj.weight", kv, s->d_model);
            B("self_attn.v_proj.bias", kv, 0);
            B("self_attn.o_proj.weight", s->d_model, q);
            B("post_attention_layernorm.weight", s->d_model, 0);
            B("mlp.gate_proj.weight", s->d_ff, s->d_model);
            B("mlp.up_proj.weight", s->d_ff, s->d_model);
            B("mlp.down_proj.weight", s->d_model, s->d_ff);
            B("rotary_emb.inv_freq", hd / 2, 0); /* dropped, as llama.cpp does */
#undef B
        }
    }
    if (s->extra) ADD(s->extra, 4, 0);
#undef ADD
    return n;
}

static char base_dir[64];

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

/* The runner exits normally after the last test: remove what the tests wrote. */
__attribute__((destructor)) static void remove_base_dir(void) {
    if (base_dir[0]) nftw(base_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *tmp_path(const char *name) {
    static char path[8][256];
    static int slot;
    if (!base_dir[0]) {
        snprintf(base_dir, sizeof base_dir, "/tmp/mkv_test_model_XXXXXX");
        if (!mkdtemp(base_dir)) return NULL;
    }
    slot = (slot + 1) % 8;
    snprintf(path[slot], sizeof path[slot], "%s/%s", base_dir, name);
    return path[slot];
}

static void write_text(const char *dir, const char *file, const char *text) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* Writes tensors [first, last) with stride `step` into one safetensors file. */
static void write_safetensors(const char *path, const hf_spec *s, const hf_tensor *ts, int n, int first, int step) {
    size_t elem = s->bf16 ? 2 : 4, offset = 0;
    char *header = malloc(65536);
    strcpy(header, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (int i = first; i < n; i += step) {
        int64_t rows = ts[i].shape[0] + (s->bad_shape && !strcmp(s->bad_shape, ts[i].name) ? 1 : 0);
        int64_t count = rows * (ts[i].n_dims == 2 ? ts[i].shape[1] : 1);
        char entry[512];
        if (ts[i].n_dims == 2)
            snprintf(entry, sizeof entry, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[%lld,%lld],\"data_offsets\":[%zu,%zu]}", ts[i].name,
                     s->bf16 ? "BF16" : "F32", (long long)rows, (long long)ts[i].shape[1], offset, offset + (size_t)count * elem);
        else
            snprintf(entry, sizeof entry, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[%lld],\"data_offsets\":[%zu,%zu]}", ts[i].name,
                     s->bf16 ? "BF16" : "F32", (long long)rows, offset, offset + (size_t)count * elem);
        strcat(header, entry);
        offset += (size_t)count * elem;
    }
    strcat(header, "}");
    while ((8 + strlen(header)) % 8) strcat(header, " ");
    if (s->odd_header) strcat(header, " ");
    FILE *f = fopen(path, "wb");
    uint64_t hlen = strlen(header);
    fwrite(&hlen, 8, 1, f);
    fwrite(header, 1, hlen, f);
    for (int i = first; i < n; i += step) {
        int64_t rows = ts[i].shape[0] + (s->bad_shape && !strcmp(s->bad_shape, ts[i].name) ? 1 : 0);
        int64_t count = rows * (ts[i].n_dims == 2 ? ts[i].shape[1] : 1);
        for (int64_t k = 0; k < count; k++) {
            float v = weight_value(ts[i].name, k);
            if (s->nan && k == 3 && strstr(ts[i].name, ".0.") && strstr(ts[i].name, "norm")) v = NAN;
            if (s->bf16) {
                uint16_t h = mkv_f32_to_bf16(v);
                fwrite(&h, 2, 1, f);
            } else {
                fwrite(&v, 4, 1, f);
            }
        }
    }
    fclose(f);
    free(header);
}

static const char *make_hf(const char *name, const hf_spec *s) {
    const char *dir = tmp_path(name);
    mkdir(dir, 0755);
    char config[8192];
    if (s->config_text) {
        snprintf(config, sizeof config, "%s", s->config_text);
    } else if (!s->dream) {
        snprintf(config, sizeof config,
                 "{%s\"architectures\":[\"LLaDAModelLM\"],\"model_type\":\"llada\",\"d_model\":%d,\"n_layers\":%d,"
                 "\"n_heads\":%d,\"n_kv_heads\":%d,\"mlp_hidden_size\":%d,\"vocab_size\":%d,\"embedding_size\":%d,"
                 "\"rope_theta\":500000.0,\"rms_norm_eps\":1e-05,\"mask_token_id\":%d,\"eos_token_id\":%d,"
                 "\"pad_token_id\":%d,\"max_sequence_length\":512,\"weight_tying\":%s}",
                 s->config_extra ? s->config_extra : "", s->d_model, s->n_layers, s->n_heads, s->n_kv_heads, s->d_ff,
                 s->vocab, s->vocab, s->vocab - 1, s->vocab - 2, s->vocab - 2, s->tie ? "true" : "false");
    } else {
        snprintf(config, sizeof config,
                 "{%s\"architectures\":[\"DreamModel\"],\"model_type\":\"Dream\",\"hidden_size\":%d,"
                 "\"num_hidden_layers\":%d,\"num_attention_heads\":%d,\"num_key_value_heads\":%d,"
                 "\"intermediate_size\":%d,\"vocab_size\":%d,\"rope_theta\":1000000.0,\"rms_norm_eps\":1e-06,"
                 "\"max_position_embeddings\":2048,\"mask_token_id\":%d,\"bos_token_id\":%d,\"eos_token_id\":%d,"
                 "\"pad_token_id\":%d,\"tie_word_embeddings\":%s}",
                 s->config_extra ? s->config_extra : "", s->d_model, s->n_layers, s->n_heads, s->n_kv_heads, s->d_ff,
                 s->vocab, s->vocab - 1, s->vocab - 3, s->vocab - 3, s->vocab - 3, s->tie ? "true" : "false");
    }
    write_text(dir, "config.json", config);
    hf_tensor ts[256];
    int n = hf_tensors(s, ts), kept = 0;
    for (int i = 0; i < n; i++)
        if (!s->skip || strcmp(ts[i].name, s->skip)) ts[kept++] = ts[i];
    char path[512];
    if (!s->two_shards) {
        snprintf(path, sizeof path, "%s/model.safetensors", dir);
        write_safetensors(path, s, ts, kept, 0, 1);
    } else {
        for (int shard = 0; shard < 2; shard++) {
            snprintf(path, sizeof path, "%s/model-%05d-of-00002.safetensors", dir, shard + 1);
            write_safetensors(path, s, ts, kept, shard, 2);
        }
        char *index = malloc(65536);
        strcpy(index, "{\"metadata\":{},\"weight_map\":{");
        for (int i = 0; i < kept; i++) {
            char entry[320];
            snprintf(entry, sizeof entry, "%s\"%.127s\":\"model-%05d-of-00002.safetensors\"", i ? "," : "", ts[i].name, (i % 2 + 1) % 10);
            strcat(index, entry);
        }
        strcat(index, "}}");
        write_text(dir, "model.safetensors.index.json", index);
        free(index);
    }
    return dir;
}

#define EXPECT_LOAD(path, want_status, text)                                                           \
    do {                                                                                               \
        mkv_model *m_ = NULL;                                                                          \
        mkv_status s_ = mkv_model_load(path, &m_);                                                     \
        CHECK_EQ_INT(s_, want_status);                                                                 \
        CHECK(s_ == MKV_OK || m_ == NULL);                                                             \
        if (s_) CHECK_MSG(strstr(mkv_last_error(), text) != NULL, "'%s' not in: %s", text, mkv_last_error()); \
        mkv_model_free(m_);                                                                            \
    } while (0)

/* ------------------------------------------------------------ HF: success */

TEST(model_load_hf_llada) {
    hf_spec s = llada_spec();
    const char *dir = make_hf("llada", &s);
    mkv_model *m = NULL;
    REQUIRE(mkv_model_load(dir, &m) == MKV_OK);
    const mkv_hparams *hp = mkv_model_hparams(m);
    CHECK(m->source == MKV_SOURCE_HF_DIR && hp->arch == MKV_ARCH_LLADA);
    CHECK_EQ_INT(hp->n_layers, 2);
    CHECK_EQ_INT(hp->d_model, 64);
    CHECK_EQ_INT(hp->n_heads, 4);
    CHECK_EQ_INT(hp->n_kv_heads, 4);
    CHECK_EQ_INT(hp->head_dim, 16);
    CHECK_EQ_INT(hp->d_ff, 96);
    CHECK_EQ_INT(hp->n_vocab, 80);
    CHECK_EQ_INT(hp->n_ctx, 512);
    CHECK(hp->rope_theta == 500000.0f && hp->norm_eps == 1e-5f);
    CHECK(hp->rope_style == MKV_ROPE_NEOX && !hp->has_qkv_bias && !hp->shift_logits);
    CHECK_EQ_INT(hp->mask_id, 79);
    CHECK_EQ_INT(hp->eos_id, 78);
    CHECK_EQ_INT(hp->pad_id, 78);
    CHECK_EQ_INT(hp->bos_id, -1);
    CHECK_EQ_INT(hp->eot_id, -1);
    CHECK(mkv_model_tokenizer(m) == NULL && m->chat_template == NULL);
    CHECK_EQ_INT(m->n_tensors, 21);
    /* PyTorch [out][in] becomes ne = {in, out} */
    const mkv_tensor *wq = m->layers[1].wq;
    REQUIRE(wq != NULL);
    CHECK(strcmp(wq->name, "blk.1.attn_q.weight") == 0 && wq->ne[0] == 64 && wq->ne[1] == 64);
    CHECK(m->layers[0].ffn_gate == mkv_model_find_tensor(m, "blk.0.ffn_gate.weight"));
    CHECK(m->layers[0].ffn_gate->ne[0] == 64 && m->layers[0].ffn_gate->ne[1] == 96);
    CHECK(m->layers[0].ffn_down->ne[0] == 96 && m->layers[0].ffn_down->ne[1] == 64);
    CHECK(m->layers[0].bq == NULL);
    CHECK(m->output != m->tok_embd && m->output->ne[1] == 80);
    /* data is the checkpoint's: row 5, column 7 of the embedding */
    const float *emb = m->tok_embd->data;
    CHECK(emb[5 * 64 + 7] == weight_value("model.transformer.wte.weight", 5 * 64 + 7));
    CHECK_EQ_INT(mkv_model_n_params(m), 80 * 64 * 2 + 64 + 2 * (2 * 64 + 4 * 64 * 64 + 3 * 64 * 96));
    CHECK_EQ_INT(mkv_model_n_bytes(m), 4 * mkv_model_n_params(m));
    CHECK(mkv_model_check_weights(m) == MKV_OK);
    mkv_model_free(m);
}

TEST(model_load_hf_dream_sharded_bf16) {
    hf_spec s = dream_spec();
    s.two_shards = true;
    s.bf16 = true;
    const char *dir = make_hf("dream", &s);
    mkv_model *m = NULL;
    mkv_status st = mkv_model_load(dir, &m);
    CHECK_MSG(st == MKV_OK, "%s", mkv_last_error());
    REQUIRE(st == MKV_OK);
    const mkv_hparams *hp = &m->hp;
    CHECK(hp->arch == MKV_ARCH_DREAM && hp->rope_style == MKV_ROPE_NEOX && hp->has_qkv_bias && hp->shift_logits);
    CHECK_EQ_INT(hp->n_kv_heads, 2);
    CHECK_EQ_INT(hp->n_ctx, 2048);
    CHECK(hp->norm_eps == 1e-6f && hp->rope_theta == 1e6f);
    CHECK_EQ_INT(hp->bos_id, 69);
    CHECK_EQ_INT(hp->mask_id, 71);
    CHECK_EQ_INT(m->n_mappings, 2);
    CHECK_EQ_INT(m->n_tensors, 3 + 2 * 12); /* inv_freq dropped */
    const mkv_layer_weights *w = &m->layers[1];
    REQUIRE(w->bq && w->bk && w->bv);
    CHECK(w->bk->ne[0] == 32 && w->bk->n_dims == 1 && w->bk->dtype == MKV_TYPE_BF16);
    CHECK(w->wk->ne[0] == 64 && w->wk->ne[1] == 32);
    CHECK(w->wo->ne[0] == 64 && w->wo->ne[1] == 64);
    const uint16_t *bv = w->bv->data;
    CHECK(bv[3] == mkv_f32_to_bf16(weight_value("model.layers.1.self_attn.v_proj.bias", 3)));
    mkv_model_free(m);
}

TEST(model_load_hf_misaligned_safetensors) {
    hf_spec s = llada_spec();
    s.odd_header = true;
    EXPECT_LOAD(make_hf("misaligned", &s), MKV_ERR_FORMAT, "not aligned to its 4-byte elements");
}

TEST(model_load_hf_tied_embeddings) {
    hf_spec s = llada_spec();
    s.tie = true;
    mkv_model *m = NULL;
    REQUIRE(mkv_model_load(make_hf("llada-tied", &s), &m) == MKV_OK);
    CHECK(m->output == m->tok_embd);
    mkv_model_free(m);
    s = dream_spec();
    s.tie = true;
    REQUIRE(mkv_model_load(make_hf("dream-tied", &s), &m) == MKV_OK);
    CHECK(m->output == m->tok_embd);
    mkv_model_free(m);
    s = llada_spec();
    s.no_head = true;
    EXPECT_LOAD(make_hf("llada-headless", &s), MKV_ERR_FORMAT, "no LM head (model.transformer.ff_out.weight)");
}

/* ------------------------------------------------------------ HF: errors */

TEST(model_load_hf_hparam_errors) {
    hf_spec s = llada_spec();
    s.config_extra = "\"n_layers\":0,";
    EXPECT_LOAD(make_hf("zero-layers", &s), MKV_ERR_FORMAT, "n_layers is 0");
    s = llada_spec();
    s.config_extra = "\"n_heads\":0,";
    EXPECT_LOAD(make_hf("zero-heads", &s), MKV_ERR_FORMAT, "n_heads is 0");
    s = dream_spec();
    s.config_extra = "\"num_key_value_heads\":0,";
    EXPECT_LOAD(make_hf("zero-kv-heads", &s), MKV_ERR_FORMAT, "n_kv_heads is 0");
    s = llada_spec();
    s.config_extra = "\"head_dim\":12,";
    EXPECT_LOAD(make_hf("head-dim", &s), MKV_ERR_FORMAT, "head_dim 12 x n_heads 4 = 48 does not match d_model 64");
    s = dream_spec();
    s.n_kv_heads = 3;
    s.config_extra = "\"num_key_value_heads\":3,";
    EXPECT_LOAD(make_hf("gqa", &s), MKV_ERR_FORMAT, "n_heads 4 is not a multiple of n_kv_heads 3");
    s = llada_spec();
    s.config_extra = "\"mask_token_id\":1000,";
    EXPECT_LOAD(make_hf("mask-id", &s), MKV_ERR_FORMAT, "mask token id 1000 is outside the vocabulary of 80 tokens");
    s = dream_spec();
    s.config_extra = "\"eos_token_id\":72,";
    EXPECT_LOAD(make_hf("eos-id", &s), MKV_ERR_FORMAT, "eos token id 72 is outside");
    s = llada_spec();
    s.config_extra = "\"mask_token_id\":null,";
    EXPECT_LOAD(make_hf("no-mask", &s), MKV_ERR_FORMAT, "no mask token id");
    s = llada_spec();
    s.config_extra = "\"embedding_size\":40,";
    EXPECT_LOAD(make_hf("embedding-size", &s), MKV_ERR_FORMAT, "embedding_size 40 is smaller than vocab_size 80");
    s = llada_spec();
    s.config_extra = "\"rope_theta\":-1,";
    EXPECT_LOAD(make_hf("rope-theta", &s), MKV_ERR_FORMAT, "\"rope_theta\" is not a positive number");
    /* found by fuzz_hf_config: positive doubles that are 0 or inf as floats */
    s = llada_spec();
    s.config_extra = "\"rms_norm_eps\":1e-76,";
    EXPECT_LOAD(make_hf("eps-underflow", &s), MKV_ERR_FORMAT, "\"rms_norm_eps\" = 1e-76 is outside the range of a float");
    s = llada_spec();
    s.config_extra = "\"rope_theta\":1e300,";
    EXPECT_LOAD(make_hf("theta-overflow", &s), MKV_ERR_FORMAT, "\"rope_theta\" = 1e+300 is outside the range of a float");
    s = llada_spec();
    s.config_extra = "\"d_model\":\"64\",";
    EXPECT_LOAD(make_hf("string-int", &s), MKV_ERR_FORMAT, "\"d_model\" is not an integer");
    s = llada_spec();
    s.config_extra = "\"n_layers\":1.5,";
    EXPECT_LOAD(make_hf("fraction", &s), MKV_ERR_FORMAT, "\"n_layers\" is not an integer");
    s = llada_spec();
    s.config_extra = "\"n_layers\":3000000000,";
    EXPECT_LOAD(make_hf("huge", &s), MKV_ERR_FORMAT, "\"n_layers\" is 3000000000, outside");
    s = llada_spec();
    s.config_text = "{\"model_type\":\"llada\",\"n_layers\":2}";
    EXPECT_LOAD(make_hf("missing-key", &s), MKV_ERR_FORMAT, "missing \"d_model\"");
    s = dream_spec();
    s.config_text = "{\"model_type\":\"Dream\",\"hidden_size\":64,\"num_hidden_layers\":2,\"num_attention_heads\":4}";
    EXPECT_LOAD(make_hf("missing-ffn", &s), MKV_ERR_FORMAT, "missing \"intermediate_size\"");
}

TEST(model_load_hf_config_errors) {
    hf_spec s = llada_spec();
    s.config_text = "{\"architectures\":[\"LlamaForCausalLM\"],\"model_type\":\"llama\"}";
    EXPECT_LOAD(make_hf("llama", &s), MKV_ERR_UNSUPPORTED, "unknown architecture 'llama'");
    s.config_text = "{\"architectures\":[\"MistralForCausalLM\"]}";
    EXPECT_LOAD(make_hf("mistral", &s), MKV_ERR_UNSUPPORTED, "unknown architecture 'MistralForCausalLM'");
    s.config_text = "{}";
    EXPECT_LOAD(make_hf("empty-config", &s), MKV_ERR_UNSUPPORTED, "unknown architecture 'none given'");
    s.config_text = "{\"model_type\": \"llada\", \"d_model\": 64";
    EXPECT_LOAD(make_hf("bad-json", &s), MKV_ERR_FORMAT, "config.json: invalid JSON");
    s.config_text = "[1, 2, 3]";
    EXPECT_LOAD(make_hf("array-config", &s), MKV_ERR_FORMAT, "config.json: not a JSON object");
    /* architecture from "architectures" alone */
    s = llada_spec();
    s.config_extra = "\"model_type\":\"something-else\",";
    EXPECT_LOAD(make_hf("arch-list", &s), MKV_OK, "");
    const char *dir = tmp_path("no-config");
    mkdir(dir, 0755);
    EXPECT_LOAD(dir, MKV_ERR_IO, "config.json: cannot open");
    EXPECT_LOAD("/nonexistent/model", MKV_ERR_IO, "/nonexistent/model: cannot open");
    /* a bad tokenizer_config.json is an error, not ignored */
    s = llada_spec();
    dir = make_hf("bad-tokenizer-config", &s);
    write_text(dir, "tokenizer_config.json", "{\"bos_token\": ");
    EXPECT_LOAD(dir, MKV_ERR_FORMAT, "tokenizer_config.json: invalid JSON");
}

TEST(model_load_hf_tensor_errors) {
    hf_spec s = llada_spec();
    s.skip = "model.transformer.blocks.1.up_proj.weight";
    EXPECT_LOAD(make_hf("missing-tensor", &s), MKV_ERR_FORMAT, "missing tensor 'blk.1.ffn_up.weight'");
    s = dream_spec();
    s.skip = "model.layers.0.self_attn.k_proj.bias";
    EXPECT_LOAD(make_hf("missing-bias", &s), MKV_ERR_FORMAT, "missing tensor 'blk.0.attn_k.bias'");
    s = llada_spec();
    s.skip = "model.transformer.wte.weight";
    EXPECT_LOAD(make_hf("missing-embedding", &s), MKV_ERR_FORMAT, "missing tensor 'token_embd.weight'");
    s = llada_spec();
    s.bad_shape = "model.transformer.blocks.0.q_proj.weight";
    EXPECT_LOAD(make_hf("bad-shape", &s), MKV_ERR_FORMAT, "tensor 'blk.0.attn_q.weight' has shape [64, 65], expected [64, 64]");
    s = llada_spec();
    s.bad_shape = "model.transformer.ln_f.weight";
    EXPECT_LOAD(make_hf("bad-norm", &s), MKV_ERR_FORMAT, "tensor 'output_norm.weight' has shape [65], expected [64]");
    s = llada_spec();
    s.extra = "model.transformer.blocks.0.mystery.weight";
    EXPECT_LOAD(make_hf("unknown-tensor", &s), MKV_ERR_UNSUPPORTED, "'model.transformer.blocks.0.mystery.weight' is not a weight");
    s = llada_spec();
    s.extra = "model.transformer.blocks.7.attn_norm.weight";
    EXPECT_LOAD(make_hf("extra-block", &s), MKV_ERR_FORMAT, "is in block 7 but config.json has 2 layers");
    s = llada_spec();
    s.config_extra = "\"vocab_size\":90,\"embedding_size\":90,";
    EXPECT_LOAD(make_hf("vocab-mismatch", &s), MKV_ERR_FORMAT, "tensor 'token_embd.weight' has shape [64, 80], expected [64, 90]");
    s = llada_spec();
    s.config_extra = "\"n_layers\":1,";
    EXPECT_LOAD(make_hf("fewer-layers", &s), MKV_ERR_FORMAT, "tensor 'blk.1.attn_q.weight' exists but the model has 1 layers");
}

TEST(model_check_weights_finds_nan) {
    hf_spec s = llada_spec();
    s.nan = true;
    mkv_model *m = NULL;
    REQUIRE(mkv_model_load(make_hf("nan", &s), &m) == MKV_OK);
    CHECK_EQ_INT(mkv_model_check_weights(m), MKV_ERR_FORMAT);
    CHECK(strstr(mkv_last_error(), "tensor 'blk.0.attn_norm.weight' has a NaN or Inf at row 0, column 3") != NULL);
    mkv_model_free(m);
}

TEST(model_load_failures_do_not_leak) {
    hf_spec s = dream_spec();
    s.two_shards = true;
    const char *dir = make_hf("oom", &s);
    size_t before = mkv_alloc_current_bytes();
    int n_nomem = 0;
    for (long n = 1; n < 60; n++) {
        mkv_model *m = NULL;
        mkv_alloc_fail_after(n);
        mkv_status st = mkv_model_load(dir, &m);
        mkv_alloc_fail_after(0);
        CHECK_MSG(st == MKV_OK || st == MKV_ERR_NOMEM, "allocation %ld: %s", n, mkv_last_error());
        n_nomem += st == MKV_ERR_NOMEM;
        mkv_model_free(m);
        CHECK_EQ_INT(mkv_alloc_current_bytes(), before);
    }
    CHECK(n_nomem > 3);
}

/* ------------------------------------------------------------ GGUF files */

typedef mkv_status (*kv_hook)(mkv_gguf_writer *w, const char *arch);

/* A GGUF (f32 tensors, no vocabulary) with the hyper-parameters of `src`;
 * `skip_key` is left out and `hook` adds keys. */
static const char *make_gguf(const char *file, const mkv_model *src, const char *skip_key, kv_hook hook) {
    const char *path = tmp_path(file);
    const mkv_hparams *hp = &src->hp;
    const char *a = src->arch->name;
    mkv_gguf_writer *w = NULL;
    if (mkv_gguf_writer_open(path, &w)) return path;
    char key[128];
    mkv_status st = MKV_OK;
#define U32(suffix, v)                                                          \
    snprintf(key, sizeof key, "%s.%s", a, suffix);                              \
    if (!st && (!skip_key || strcmp(skip_key, key))) st = mkv_gguf_writer_add_u32(w, key, (uint32_t)(v))
    if (!skip_key || strcmp(skip_key, "general.architecture")) st = mkv_gguf_writer_add_str(w, "general.architecture", a);
    U32("block_count", hp->n_layers);
    U32("context_length", hp->n_ctx);
    U32("embedding_length", hp->d_model);
    U32("feed_forward_length", hp->d_ff);
    U32("attention.head_count", hp->n_heads);
    U32("attention.head_count_kv", hp->n_kv_heads);
#undef U32
    snprintf(key, sizeof key, "%s.rope.freq_base", a);
    if (!st && (!skip_key || strcmp(skip_key, key))) st = mkv_gguf_writer_add_f32(w, key, hp->rope_theta);
    snprintf(key, sizeof key, "%s.attention.layer_norm_rms_epsilon", a);
    if (!st && (!skip_key || strcmp(skip_key, key))) st = mkv_gguf_writer_add_f32(w, key, hp->norm_eps);
    if (!st && (!skip_key || strcmp(skip_key, "tokenizer.ggml.mask_token_id")))
        st = mkv_gguf_writer_add_u32(w, "tokenizer.ggml.mask_token_id", (uint32_t)hp->mask_id);
    if (!st && hp->eos_id >= 0) st = mkv_gguf_writer_add_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)hp->eos_id);
    if (!st && hook) st = hook(w, a);
    for (int i = 0; i < src->n_tensors && !st; i++)
        st = mkv_gguf_writer_add_tensor_info(w, src->tensors[i].name, MKV_TYPE_F32, src->tensors[i].n_dims, src->tensors[i].ne);
    if (!st) st = mkv_gguf_writer_write_header(w);
    for (int i = 0; i < src->n_tensors && !st; i++) {
        const mkv_tensor *t = &src->tensors[i];
        int64_t n = t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
        float *values = malloc((size_t)n * sizeof(float));
        mkv_dtype_info(t->dtype)->to_float(t->data, values, n);
        st = mkv_gguf_writer_write_tensor(w, values, (size_t)n * sizeof(float));
        free(values);
    }
    if (!st) mkv_gguf_writer_finish(w);
    else mkv_gguf_writer_abort(w);
    return path;
}

static mkv_model *load_or_null(const char *path) {
    mkv_model *m = NULL;
    if (mkv_model_load(path, &m) != MKV_OK) {
        mkv_test_fail(__FILE__, __LINE__, "loading %s: %s", path, mkv_last_error());
        return NULL;
    }
    return m;
}

TEST(model_load_gguf_both_archs) {
    hf_spec s = llada_spec();
    mkv_model *hf = load_or_null(make_hf("gguf-src-llada", &s));
    REQUIRE(hf != NULL);
    mkv_model *g = load_or_null(make_gguf("llada.gguf", hf, NULL, NULL));
    if (g) {
        CHECK(g->source == MKV_SOURCE_GGUF && g->hp.arch == MKV_ARCH_LLADA);
        CHECK(g->hp.rope_style == MKV_ROPE_NORM); /* llama.cpp's permuted LLaDA files */
        CHECK(!g->hp.shift_logits);
        CHECK_EQ_INT(g->hp.n_layers, hf->hp.n_layers);
        CHECK_EQ_INT(g->hp.head_dim, hf->hp.head_dim);
        CHECK_EQ_INT(g->hp.n_vocab, 80); /* from the embedding: no vocab key, no token list */
        CHECK_EQ_INT(g->hp.mask_id, 79);
        CHECK_EQ_INT(g->hp.eos_id, 78);
        CHECK_EQ_INT(g->hp.bos_id, -1);
        CHECK(g->hp.rope_theta == 500000.0f);
        const float *a = hf->layers[1].ffn_down->data, *b = g->layers[1].ffn_down->data;
        CHECK(memcmp(a, b, hf->layers[1].ffn_down->n_bytes) == 0);
        CHECK(mkv_model_tokenizer(g) == NULL);
    }
    mkv_model_free(g);
    mkv_model_free(hf);

    s = dream_spec();
    hf = load_or_null(make_hf("gguf-src-dream", &s));
    REQUIRE(hf != NULL);
    g = load_or_null(make_gguf("dream.gguf", hf, NULL, NULL));
    if (g) {
        CHECK(g->hp.rope_style == MKV_ROPE_NEOX && g->hp.shift_logits && g->hp.has_qkv_bias); /* shift: absent means true */
        CHECK_EQ_INT(g->hp.n_kv_heads, 2);
        CHECK(g->layers[0].bv != NULL);
    }
    mkv_model_free(g);
    mkv_model_free(hf);
}

static mkv_status hook_shift_false(mkv_gguf_writer *w, const char *a) {
    (void)a;
    return mkv_gguf_writer_add_bool(w, "diffusion.shift_logits", false);
}
static mkv_status hook_unknown_arch(mkv_gguf_writer *w, const char *a) {
    (void)a;
    return mkv_gguf_writer_add_str(w, "general.architecture", "qwen2");
}
static mkv_status hook_block_count_str(mkv_gguf_writer *w, const char *a) {
    char key[64];
    snprintf(key, sizeof key, "%s.block_count", a);
    return mkv_gguf_writer_add_str(w, key, "two");
}
static mkv_status hook_rope_dims(mkv_gguf_writer *w, const char *a) {
    char key[64];
    snprintf(key, sizeof key, "%s.rope.dimension_count", a);
    return mkv_gguf_writer_add_u32(w, key, 8);
}
static mkv_status hook_zero_heads(mkv_gguf_writer *w, const char *a) {
    char key[64];
    snprintf(key, sizeof key, "%s.attention.head_count", a);
    return mkv_gguf_writer_add_u32(w, key, 0);
}
static mkv_status hook_wide(mkv_gguf_writer *w, const char *a) {
    char key[64];
    snprintf(key, sizeof key, "%s.embedding_length", a);
    return mkv_gguf_writer_add_u32(w, key, 128);
}
static mkv_status hook_big_mask(mkv_gguf_writer *w, const char *a) {
    (void)a;
    return mkv_gguf_writer_add_u32(w, "tokenizer.ggml.mask_token_id", 5000);
}
static mkv_status hook_vocab_size(mkv_gguf_writer *w, const char *a) {
    char key[64];
    snprintf(key, sizeof key, "%s.vocab_size", a);
    return mkv_gguf_writer_add_u32(w, key, 100);
}
static mkv_status hook_alignment_2(mkv_gguf_writer *w, const char *a) {
    (void)a;
    return mkv_gguf_writer_set_alignment(w, 2);
}
static mkv_status hook_eps_string(mkv_gguf_writer *w, const char *a) {
    char key[64];
    snprintf(key, sizeof key, "%s.attention.layer_norm_rms_epsilon", a);
    return mkv_gguf_writer_add_str(w, key, "1e-5");
}

TEST(model_load_gguf_errors) {
    hf_spec s = dream_spec();
    mkv_model *hf = load_or_null(make_hf("gguf-err-src", &s));
    REQUIRE(hf != NULL);
    mkv_model *g = load_or_null(make_gguf("shift.gguf", hf, NULL, hook_shift_false));
    CHECK(g && !g->hp.shift_logits);
    mkv_model_free(g);
    EXPECT_LOAD(make_gguf("no-arch.gguf", hf, "general.architecture", NULL), MKV_ERR_FORMAT, "missing key 'general.architecture'");
    EXPECT_LOAD(make_gguf("qwen2.gguf", hf, "general.architecture", hook_unknown_arch), MKV_ERR_UNSUPPORTED,
                "architecture 'qwen2' is not supported");
    EXPECT_LOAD(make_gguf("no-blocks.gguf", hf, "dream.block_count", NULL), MKV_ERR_FORMAT, "missing key 'dream.block_count'");
    EXPECT_LOAD(make_gguf("str-blocks.gguf", hf, "dream.block_count", hook_block_count_str), MKV_ERR_FORMAT,
                "key 'dream.block_count' is not an integer");
    EXPECT_LOAD(make_gguf("eps.gguf", hf, "dream.attention.layer_norm_rms_epsilon", NULL), MKV_ERR_FORMAT,
                "missing key 'dream.attention.layer_norm_rms_epsilon'");
    EXPECT_LOAD(make_gguf("eps-str.gguf", hf, "dream.attention.layer_norm_rms_epsilon", hook_eps_string), MKV_ERR_FORMAT,
                "is not a float");
    EXPECT_LOAD(make_gguf("rope-dims.gguf", hf, NULL, hook_rope_dims), MKV_ERR_UNSUPPORTED, "partial RoPE");
    EXPECT_LOAD(make_gguf("zero-heads.gguf", hf, "dream.attention.head_count", hook_zero_heads), MKV_ERR_FORMAT, "n_heads is 0");
    EXPECT_LOAD(make_gguf("wide.gguf", hf, "dream.embedding_length", hook_wide), MKV_ERR_FORMAT,
                "tensor 'token_embd.weight' has shape [64, 72], expected [128, 72]");
    EXPECT_LOAD(make_gguf("big-mask.gguf", hf, "tokenizer.ggml.mask_token_id", hook_big_mask), MKV_ERR_FORMAT,
                "mask token id 5000 is outside the vocabulary of 72 tokens");
    EXPECT_LOAD(make_gguf("vocab.gguf", hf, NULL, hook_vocab_size), MKV_ERR_FORMAT,
                "tensor 'token_embd.weight' has shape [64, 72], expected [64, 100]");
    EXPECT_LOAD(make_gguf("no-mask.gguf", hf, "tokenizer.ggml.mask_token_id", NULL), MKV_ERR_FORMAT, "no mask token id");
    /* general.alignment 2 is legal: f32 tensors that land on odd words are copied */
    g = load_or_null(make_gguf("align2.gguf", hf, NULL, hook_alignment_2));
    if (g) {
        CHECK(g->n_owned_buffers > 0);
        for (int i = 0; i < g->n_tensors; i++) CHECK((uintptr_t)g->tensors[i].data % 4 == 0);
        CHECK(memcmp(g->layers[1].wq->data, hf->layers[1].wq->data, hf->layers[1].wq->n_bytes) == 0);
    }
    mkv_model_free(g);
    mkv_model_free(hf);
}

TEST(model_load_gguf_missing_tensor) {
    hf_spec s = llada_spec();
    s.skip = "model.transformer.blocks.0.v_proj.weight";
    /* an HF dir that fails to bind still yields its tensors through a GGUF:
     * build the GGUF from a complete model minus one tensor instead */
    s.skip = NULL;
    mkv_model *hf = load_or_null(make_hf("gguf-missing-src", &s));
    REQUIRE(hf != NULL);
    int n = hf->n_tensors;
    for (int i = 0; i < n; i++)
        if (!strcmp(hf->tensors[i].name, "blk.0.attn_v.weight")) {
            hf->tensors[i] = hf->tensors[n - 1];
            hf->n_tensors--;
            break;
        }
    EXPECT_LOAD(make_gguf("missing.gguf", hf, NULL, NULL), MKV_ERR_FORMAT, "missing tensor 'blk.0.attn_v.weight'");
    hf->n_tensors = n;
    mkv_model_free(hf);
}

/* ------------------------------------------------------------ shipped tiny models */

/* LlamaModel.permute: GGUF row r holds HF row permuted_row(r). */
static int64_t hf_row_of(int64_t r, int64_t head_rows) {
    int64_t h = r / head_rows, j = r % head_rows;
    return h * head_rows + (j % 2) * (head_rows / 2) + j / 2;
}

static float tolerance_of(mkv_dtype t) {
    switch (t) {
    case MKV_TYPE_F32: return 0.0f;
    case MKV_TYPE_F16: return 1e-3f;
    case MKV_TYPE_BF16: return 8e-3f;
    case MKV_TYPE_Q8_0: return 1.0f / 120.0f;
    case MKV_TYPE_Q4_0: return 1.0f / 7.0f;
    default: return 1.0f;
    }
}

static void compare_models(const char *hf_path, const char *gguf_path, float extra_tol) {
    mkv_model *hf = load_or_null(mkv_test_path(hf_path));
    mkv_model *g = load_or_null(mkv_test_path(gguf_path));
    if (!hf || !g) goto done;
    const mkv_hparams *a = &hf->hp, *b = &g->hp;
    CHECK_MSG(a->arch == b->arch && a->n_layers == b->n_layers && a->d_model == b->d_model && a->n_heads == b->n_heads &&
                  a->n_kv_heads == b->n_kv_heads && a->head_dim == b->head_dim && a->d_ff == b->d_ff &&
                  a->n_vocab == b->n_vocab && a->n_ctx == b->n_ctx && a->rope_theta == b->rope_theta &&
                  a->norm_eps == b->norm_eps && a->has_qkv_bias == b->has_qkv_bias && a->shift_logits == b->shift_logits,
              "%s vs %s: hyper-parameters differ", hf_path, gguf_path);
    CHECK_MSG(a->mask_id == b->mask_id && a->bos_id == b->bos_id && a->eos_id == b->eos_id && a->eot_id == b->eot_id &&
                  a->pad_id == b->pad_id,
              "%s vs %s: special ids differ (mask %d/%d bos %d/%d eos %d/%d eot %d/%d pad %d/%d)", hf_path, gguf_path, a->mask_id,
              b->mask_id, a->bos_id, b->bos_id, a->eos_id, b->eos_id, a->eot_id, b->eot_id, a->pad_id, b->pad_id);
    CHECK(a->rope_style == MKV_ROPE_NEOX);
    CHECK(b->rope_style == (a->arch == MKV_ARCH_LLADA ? MKV_ROPE_NORM : MKV_ROPE_NEOX));
    CHECK_EQ_INT(hf->n_tensors, g->n_tensors);
    CHECK((hf->chat_template == NULL) == (g->chat_template == NULL));
    if (hf->chat_template && g->chat_template) CHECK(strcmp(hf->chat_template, g->chat_template) == 0);
    for (int i = 0; i < hf->n_tensors; i++) {
        const mkv_tensor *x = &hf->tensors[i], *y = mkv_model_find_tensor(g, x->name);
        if (!y) {
            mkv_test_fail(__FILE__, __LINE__, "%s: tensor %s missing", gguf_path, x->name);
            continue;
        }
        CHECK(x->ne[0] == y->ne[0] && x->ne[1] == y->ne[1] && x->ne[2] == y->ne[2] && x->ne[3] == y->ne[3]);
        int64_t cols = x->ne[0], rows = x->ne[1] * x->ne[2] * x->ne[3];
        int64_t head_rows = 0;
        if (a->arch == MKV_ARCH_LLADA && strstr(x->name, ".attn_q.weight")) head_rows = rows / a->n_heads;
        if (a->arch == MKV_ARCH_LLADA && strstr(x->name, ".attn_k.weight")) head_rows = rows / a->n_kv_heads;
        float *fx = malloc((size_t)(rows * cols) * sizeof(float)), *fy = malloc((size_t)(rows * cols) * sizeof(float));
        mkv_dtype_info(x->dtype)->to_float(x->data, fx, rows * cols);
        mkv_dtype_info(y->dtype)->to_float(y->data, fy, rows * cols);
        float amax = 0, err = 0;
        for (int64_t r = 0; r < rows; r++) {
            int64_t src = head_rows ? hf_row_of(r, head_rows) : r;
            for (int64_t c = 0; c < cols; c++) {
                amax = fmaxf(amax, fabsf(fx[src * cols + c]));
                err = fmaxf(err, fabsf(fx[src * cols + c] - fy[r * cols + c]));
            }
        }
        float tol = (tolerance_of(y->dtype) + extra_tol) * amax;
        CHECK_MSG(err <= tol, "%s: %s (%s): max error %g over %g (max |w| %g)", gguf_path, x->name,
                  mkv_dtype_info(y->dtype)->name, (double)err, (double)tol, (double)amax);
        free(fx);
        free(fy);
    }
done:
    mkv_model_free(hf);
    mkv_model_free(g);
}

TEST(model_load_tiny_llada_hf_matches_gguf) {
    compare_models("models/llada-tiny", "models/llada-tiny-f32.gguf", 0);
    compare_models("models/llada-tiny", "models/llada-tiny-f16.gguf", 0);
    /* made from a bf16 copy of the checkpoint: its f32 norms are bf16-rounded */
    compare_models("models/llada-tiny", "models/llada-tiny-bf16.gguf", 8e-3f);
    compare_models("models/llada-tiny", "models/llada-tiny-q8_0.gguf", 0);
    compare_models("models/llada-tiny", "models/llada-tiny-q4_0.gguf", 0);
}

TEST(model_load_tiny_dream_and_odd_hf_matches_gguf) {
    compare_models("models/dream-tiny", "models/dream-tiny-f32.gguf", 0);
    compare_models("models/dream-tiny", "models/dream-tiny-q8_0.gguf", 0);
    /* rows of 60 or 100: q8_0 falls back to F16 for every 2-D weight */
    compare_models("models/llada-odd", "models/llada-odd-q8_0.gguf", 0);
    mkv_model *g = load_or_null(mkv_test_path("models/llada-odd-q8_0.gguf"));
    if (g) {
        CHECK(g->layers[0].wq->dtype == MKV_TYPE_F16 && g->layers[0].attn_norm->dtype == MKV_TYPE_F32);
        mkv_model_free(g);
    }
    /* the bf16 checkpoint holds the f32 one rounded */
    mkv_model *a = load_or_null(mkv_test_path("models/llada-odd")), *b = load_or_null(mkv_test_path("models/llada-odd-bf16"));
    if (a && b) {
        CHECK(b->tok_embd->dtype == MKV_TYPE_BF16 && a->tok_embd->dtype == MKV_TYPE_F32);
        const float *fa = a->tok_embd->data;
        const uint16_t *hb = b->tok_embd->data;
        int64_t n = a->tok_embd->ne[0] * a->tok_embd->ne[1], bad = 0;
        for (int64_t i = 0; i < n; i++) bad += mkv_bf16_to_f32(hb[i]) != mkv_bf16_to_f32(mkv_f32_to_bf16(fa[i]));
        CHECK_EQ_INT(bad, 0);
    }
    mkv_model_free(a);
    mkv_model_free(b);
}

TEST(model_load_tiny_models_have_tokenizers) {
    mkv_model *m = load_or_null(mkv_test_path("models/dream-tiny"));
    if (m) {
        CHECK(mkv_model_tokenizer(m) != NULL);
        CHECK(m->chat_template != NULL && strstr(m->chat_template, "<|im_start|>") != NULL);
        CHECK(m->hp.eot_id >= 0); /* <|im_end|> */
        mkv_model_free(m);
    }
    m = load_or_null(mkv_test_path("models/llada-tiny-q4_0.gguf"));
    if (m) {
        CHECK(mkv_model_tokenizer(m) != NULL);
        CHECK(m->hp.eot_id >= 0 && m->hp.bos_id >= 0); /* <|eot_id|>, <|startoftext|> */
        mkv_model_free(m);
    }
}

/* ------------------------------------------------------------ name mapping */

TEST(model_hf_tensor_names_map_like_llama_cpp) {
    static const char *const pairs[][2] = {
        {"model.transformer.wte.weight", "token_embd.weight"},
        {"model.transformer.ln_f.weight", "output_norm.weight"},
        {"model.transformer.ff_out.weight", "output.weight"},
        {"model.transformer.blocks.12.ff_out.weight", "blk.12.ffn_down.weight"},
        {"model.transformer.blocks.0.ff_proj.weight", "blk.0.ffn_gate.weight"},
        {"model.transformer.blocks.3.attn_out.weight", "blk.3.attn_output.weight"},
        {"model.embed_tokens.weight", "token_embd.weight"},
        {"lm_head.weight", "output.weight"},
        {"model.norm.weight", "output_norm.weight"},
        {"model.layers.27.self_attn.q_proj.bias", "blk.27.attn_q.bias"},
        {"model.layers.1.self_attn.o_proj.weight", "blk.1.attn_output.weight"},
        {"model.layers.1.post_attention_layernorm.weight", "blk.1.ffn_norm.weight"},
        {"model.layers.1.mlp.down_proj.weight", "blk.1.ffn_down.weight"},
    };
    char out[128];
    int block;
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        CHECK_EQ_INT(mkv_hf_tensor_name_to_gguf(pairs[i][0], out, sizeof out, &block), 1);
        CHECK_MSG(strcmp(out, pairs[i][1]) == 0, "%s -> %s", pairs[i][0], out);
    }
    CHECK_EQ_INT(mkv_hf_tensor_name_to_gguf("model.layers.3.self_attn.rotary_emb.inv_freq", out, sizeof out, &block), 0);
    CHECK_EQ_INT(mkv_hf_tensor_name_to_gguf("model.layers.x.mlp.up_proj.weight", out, sizeof out, &block), -1);
    CHECK_EQ_INT(mkv_hf_tensor_name_to_gguf("model.layers.3.mlp.up_proj", out, sizeof out, &block), -1);
    CHECK_EQ_INT(mkv_hf_tensor_name_to_gguf("transformer.h.0.attn.c_attn.weight", out, sizeof out, &block), -1);
    CHECK_EQ_INT(mkv_hf_tensor_name_to_gguf("model.layers.99999999999.mlp.up_proj.weight", out, sizeof out, &block), -1);
}

TEST(model_hf_model_id_heuristics) {
    /* gguf-py's Metadata.get_model_id_components and id_to_title */
    mkv_hf_model_id id;
    REQUIRE(mkv_hf_model_id_parse("GSAI-ML/LLaDA-8B-Instruct", 8000000000ll, &id) == MKV_OK);
    CHECK(id.organization && !strcmp(id.organization, "GSAI-ML"));
    CHECK(id.basename && !strcmp(id.basename, "LLaDA"));
    CHECK(id.size_label && !strcmp(id.size_label, "8B"));
    CHECK(id.finetune && !strcmp(id.finetune, "Instruct"));
    CHECK(id.version == NULL);
    mkv_hf_model_id_free(&id);
    /* (expected values printed by gguf.metadata.Metadata.get_model_id_components) */
    REQUIRE(mkv_hf_model_id_parse("Dream-v0-Instruct-7B", 7600000000ll, &id) == MKV_OK);
    CHECK(id.basename && !strcmp(id.basename, "Dream-v0"));
    CHECK(id.version == NULL);
    CHECK(id.finetune && !strcmp(id.finetune, "Instruct"));
    CHECK(id.size_label && !strcmp(id.size_label, "7B"));
    mkv_hf_model_id_free(&id);
    REQUIRE(mkv_hf_model_id_parse("bloom-7b1", 7000000000ll, &id) == MKV_OK);
    CHECK(id.basename && !strcmp(id.basename, "bloom") && id.size_label && !strcmp(id.size_label, "7.1B"));
    mkv_hf_model_id_free(&id);
    REQUIRE(mkv_hf_model_id_parse("Qwen2.5-7B-Instruct-1M", 7000000000ll, &id) == MKV_OK);
    CHECK(id.basename && !strcmp(id.basename, "Qwen2.5") && id.finetune && !strcmp(id.finetune, "Instruct-1m"));
    CHECK(id.size_label && !strcmp(id.size_label, "7B"));
    mkv_hf_model_id_free(&id);
    REQUIRE(mkv_hf_model_id_parse("LLaDA-8B-instruct-v1.5", 8000000000ll, &id) == MKV_OK);
    CHECK(id.version && !strcmp(id.version, "v1.5") && id.finetune && !strcmp(id.finetune, "instruct"));
    mkv_hf_model_id_free(&id);
    REQUIRE(mkv_hf_model_id_parse("llada-tiny", 240096, &id) == MKV_OK);
    CHECK(id.basename == NULL && id.size_label == NULL && id.finetune == NULL && !strcmp(id.name, "llada-tiny"));
    mkv_hf_model_id_free(&id);
    char *t = mkv_hf_id_to_title("llada-tiny");
    CHECK(t && !strcmp(t, "Llada Tiny"));
    mkv_free(t);
    t = mkv_hf_id_to_title("LLaDA-8B-instruct-v1.5");
    CHECK(t && !strcmp(t, "LLaDA 8B Instruct v1.5"));
    mkv_free(t);
}
