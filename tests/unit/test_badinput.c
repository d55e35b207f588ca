/* Bad-input matrix, part 1: hostile model files made by byte surgery on the
 * tiny LLaDA GGUF (tests/models/llada-tiny-f32.gguf), each loaded through
 * the full model loader (mkv_model_load on a temporary file, the path the
 * CLI takes) and checked for its status (the CLI exit code), a one-line
 * message naming the problem, and no leak of counted bytes:
 *   truncation at every section boundary (header, each key-value pair, each
 *   tensor info, the data, each tensor), counts and lengths near 2^64,
 *   overlapping or misaligned tensors, a tensor shape that disagrees with the
 *   metadata, unknown ggml types, zero layers or heads, a head_dim that does
 *   not match d_model, special ids outside the vocabulary.
 * The GGUF reader's own hand-built images are in test_gguf.c; these start
 * from a real converted model. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/gguf.h"
#include "model/model.h"
#include "test.h"
#include "util/alloc.h"

/* ------------------------------------------------------------ layout of the file */

#define MAX_KV 64
#define MAX_TENSORS 64

typedef struct {
    unsigned char *p;
    size_t size;
    size_t header_end;                 /* after magic, version, counts     */
    int n_kv;
    char key[MAX_KV][96];
    size_t kv_start[MAX_KV];           /* the key's u64 length            */
    size_t kv_value[MAX_KV];           /* the value (after its u32 type)  */
    size_t kv_end[MAX_KV];
    uint32_t kv_type[MAX_KV];
    int n_tensors;
    char tensor[MAX_TENSORS][128];
    size_t ti_start[MAX_TENSORS];      /* the name's u64 length           */
    size_t ti_ne[MAX_TENSORS];         /* ne[0]                           */
    size_t ti_type[MAX_TENSORS];
    size_t ti_offset[MAX_TENSORS];
    uint32_t ti_n_dims[MAX_TENSORS];
    uint64_t offset[MAX_TENSORS];      /* relative to data_pos            */
    size_t infos_end, data_pos;
} gguf_layout;

static uint32_t rd32(const unsigned char *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static uint64_t rd64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
static void wr32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static void wr64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }

static size_t skip_value(const unsigned char *p, size_t pos, uint32_t type) {
    static const size_t sizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    if (type == 8) return pos + 8 + rd64(p + pos);
    if (type == 9) {
        uint32_t et = rd32(p + pos);
        uint64_t n = rd64(p + pos + 4);
        pos += 12;
        for (uint64_t i = 0; i < n; i++) pos = skip_value(p, pos, et);
        return pos;
    }
    return pos + sizes[type];
}

/* The valid file, walked once (it is trusted: it is a test fixture). */
static gguf_layout *load_layout(void) {
    const char *path = mkv_test_path("models/llada-tiny-f32.gguf");
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    gguf_layout *g = calloc(1, sizeof *g);
    fseek(f, 0, SEEK_END);
    g->size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    g->p = malloc(g->size);
    if (fread(g->p, 1, g->size, f) != g->size) g->size = 0;
    fclose(f);
    const unsigned char *p = g->p;
    uint64_t n_tensors = rd64(p + 8), n_kv = rd64(p + 16);
    if (n_tensors > MAX_TENSORS || n_kv > MAX_KV) return NULL;
    g->n_tensors = (int)n_tensors;
    g->n_kv = (int)n_kv;
    size_t pos = g->header_end = 24;
    for (int i = 0; i < g->n_kv; i++) {
        g->kv_start[i] = pos;
        uint64_t len = rd64(p + pos);
        snprintf(g->key[i], sizeof g->key[i], "%.*s", (int)len, (const char *)p + pos + 8);
        pos += 8 + len;
        g->kv_type[i] = rd32(p + pos);
        g->kv_value[i] = pos + 4;
        pos = skip_value(p, pos + 4, g->kv_type[i]);
        g->kv_end[i] = pos;
    }
    for (int i = 0; i < g->n_tensors; i++) {
        g->ti_start[i] = pos;
        uint64_t len = rd64(p + pos);
        snprintf(g->tensor[i], sizeof g->tensor[i], "%.*s", (int)len, (const char *)p + pos + 8);
        pos += 8 + len;
        g->ti_n_dims[i] = rd32(p + pos);
        g->ti_ne[i] = pos + 4;
        pos += 4 + 8 * (size_t)g->ti_n_dims[i];
        g->ti_type[i] = pos;
        g->ti_offset[i] = pos + 4;
        g->offset[i] = rd64(p + pos + 4);
        pos += 12;
    }
    g->infos_end = pos;
    g->data_pos = (pos + 31) / 32 * 32;
    return g;
}

static void free_layout(gguf_layout *g) {
    if (!g) return;
    free(g->p);
    free(g);
}

static int kv_index(const gguf_layout *g, const char *key) {
    for (int i = 0; i < g->n_kv; i++)
        if (!strcmp(g->key[i], key)) return i;
    return -1;
}

static int tensor_index(const gguf_layout *g, const char *name) {
    for (int i = 0; i < g->n_tensors; i++)
        if (!strcmp(g->tensor[i], name)) return i;
    return -1;
}

/* A patched copy of the file: `apply` edits it in place. */
static unsigned char *copy_of(const gguf_layout *g) {
    unsigned char *c = malloc(g->size);
    memcpy(c, g->p, g->size);
    return c;
}

/* ------------------------------------------------------------ loading a variant */

static char temp_dir[256];

static const char *temp_file(const char *name) {
    static char path[512];
    if (!temp_dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(temp_dir, sizeof temp_dir, "%s/mkv-badinput-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
        if (!mkdtemp(temp_dir)) return NULL;
    }
    snprintf(path, sizeof path, "%s/%s", temp_dir, name);
    return path;
}

static bool write_file(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f) return false;
    bool ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok;
}

/* Loads `data` as a model file and checks status, message and leaks. */
static void expect_model(const char *label, const void *data, size_t size, mkv_status want, const char *text, int line) {
    const char *path = temp_file("variant.gguf");
    if (!path || !write_file(path, data, size)) {
        mkv_test_fail(__FILE__, line, "%s: cannot write a temporary file", label);
        return;
    }
    size_t base = mkv_alloc_current_bytes();
    mkv_clear_error();
    mkv_model *model = NULL;
    mkv_status st = mkv_model_load(path, &model);
    if (model) mkv_model_free(model);
    const char *msg = mkv_last_error();
    if (st != want)
        mkv_test_fail(__FILE__, line, "%s: status %d, want %d (%s)", label, (int)st, (int)want, msg);
    else if (want != MKV_OK && (!strstr(msg, text) || strchr(msg, '\n') || !strstr(msg, path)))
        mkv_test_fail(__FILE__, line, "%s: message '%s' lacks '%s' or the path, or is not one line", label, msg, text);
    if (mkv_alloc_current_bytes() != base)
        mkv_test_fail(__FILE__, line, "%s: %zu counted bytes leaked", label, mkv_alloc_current_bytes() - base);
    unlink(path);
}
#define EXPECT_MODEL(label, data, size, want, text) expect_model(label, data, size, want, text, __LINE__)

/* Patches a u32 metadata value and expects the load to fail. */
static void expect_u32_kv(const gguf_layout *g, const char *key, uint32_t value, mkv_status want, const char *text,
                          int line) {
    int i = kv_index(g, key);
    if (i < 0 || g->kv_type[i] != 4) {
        mkv_test_fail(__FILE__, line, "no u32 key %s in the fixture", key);
        return;
    }
    unsigned char *c = copy_of(g);
    wr32(c + g->kv_value[i], value);
    char label[160];
    snprintf(label, sizeof label, "%s = %u", key, value);
    expect_model(label, c, g->size, want, text, line);
    free(c);
}
#define EXPECT_U32_KV(g, key, value, want, text) expect_u32_kv(g, key, value, want, text, __LINE__)

/* ------------------------------------------------------------ the matrix */

TEST(badinput_fixture_loads_unchanged) {
    gguf_layout *g = load_layout();
    REQUIRE(g && g->size > 0 && g->n_kv > 20 && g->n_tensors == 21);
    CHECK(g->data_pos + g->offset[g->n_tensors - 1] < g->size);
    EXPECT_MODEL("unchanged", g->p, g->size, MKV_OK, "");
    free_layout(g);
}

/* Every section boundary, and the byte before and after it. */
TEST(badinput_gguf_truncated_at_every_section_boundary) {
    gguf_layout *g = load_layout();
    REQUIRE(g);
    size_t cuts[4 * (MAX_KV * 3 + MAX_TENSORS * 6) + 32];
    int n = 0;
    size_t fixed[] = {0, 1, 4, 8, 16, g->header_end, g->infos_end, g->data_pos, g->size - 1};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) cuts[n++] = fixed[i];
    for (int i = 0; i < g->n_kv; i++) {
        cuts[n++] = g->kv_start[i] + 4;  /* inside the key length      */
        cuts[n++] = g->kv_start[i] + 8;  /* after the key length       */
        cuts[n++] = g->kv_value[i] - 2;  /* inside the value type      */
        cuts[n++] = g->kv_value[i];      /* after the type             */
        cuts[n++] = g->kv_end[i] - 1;    /* the last byte of the value */
    }
    for (int i = 0; i < g->n_tensors; i++) {
        cuts[n++] = g->ti_start[i] + 8;
        cuts[n++] = g->ti_ne[i] - 1;
        cuts[n++] = g->ti_ne[i] + 3;
        cuts[n++] = g->ti_type[i] + 2;
        cuts[n++] = g->ti_offset[i] + 7;
        cuts[n++] = g->data_pos + g->offset[i];                 /* the tensor's first byte missing */
        cuts[n++] = g->data_pos + g->offset[i] + 1;
    }
    int checked = 0;
    for (int k = 0; k < n; k++) {
        size_t cut = cuts[k];
        if (cut >= g->size) continue;
        char label[64];
        snprintf(label, sizeof label, "cut at %zu of %zu", cut, g->size);
        /* the reader on the prefix in memory */
        mkv_gguf *h = NULL;
        mkv_status st = mkv_gguf_open_memory(g->p, cut, "prefix.gguf", &h);
        CHECK_MSG(st == MKV_ERR_FORMAT && h == NULL, "%s: reader status %d: %s", label, (int)st, mkv_last_error());
        const char *msg = mkv_last_error();
        CHECK_MSG(strstr(msg, "truncated") || strstr(msg, "past the end") || strstr(msg, "outside the file") ||
                      strstr(msg, "cannot fit") || strstr(msg, "bad magic") || strstr(msg, "larger than"),
                  "%s: message '%s'", label, msg);
        mkv_gguf_close(h);
        /* the loader on the file */
        EXPECT_MODEL(label, g->p, cut, MKV_ERR_FORMAT, cut == 0 ? "empty" : "");
        checked++;
    }
    CHECK(checked > 200);
    free_layout(g);
}

TEST(badinput_gguf_counts_and_lengths_near_2_64) {
    gguf_layout *g = load_layout();
    REQUIRE(g);
    struct {
        const char *label;
        size_t pos;
        uint64_t value;
        const char *text;
    } cases[] = {
        {"tensor count 2^64-1", 8, UINT64_MAX, "tensor count"},
        {"tensor count 2^63", 8, 1ull << 63, "tensor count"},
        {"key-value count 2^64-1", 16, UINT64_MAX, "key-value count"},
        {"key-value count 2^64-24", 16, UINT64_MAX - 23, "key-value count"},
        {"first key length 2^64-1", g->kv_start[0], UINT64_MAX, "past the end"},
        {"first key length 2^64-8", g->kv_start[0], UINT64_MAX - 7, "past the end"},
        {"tensor name length 2^64-1", g->ti_start[0], UINT64_MAX, "past the end"},
        {"tensor offset 2^64-32", g->ti_offset[0], UINT64_MAX - 31, "outside the file"},
        {"tensor offset 2^63", g->ti_offset[0], 1ull << 63, "outside the file"},
        {"tensor ne[0] 2^63-1", g->ti_ne[0], (uint64_t)INT64_MAX, "overflows"},
        {"tensor ne[0] 2^64-1 (negative)", g->ti_ne[0], UINT64_MAX, "dimension 0 of size -1"},
        {"tensor ne[0] 2^62", g->ti_ne[0], 1ull << 62, "overflows"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        unsigned char *c = copy_of(g);
        wr64(c + cases[k].pos, cases[k].value);
        EXPECT_MODEL(cases[k].label, c, g->size, MKV_ERR_FORMAT, cases[k].text);
        free(c);
    }
    /* array counts and string lengths inside the vocabulary */
    int tokens = kv_index(g, "tokenizer.ggml.tokens");
    REQUIRE(tokens >= 0 && g->kv_type[tokens] == 9);
    size_t count_pos = g->kv_value[tokens] + 4, first_string = g->kv_value[tokens] + 12;
    uint64_t values[] = {UINT64_MAX, 1ull << 61, UINT64_MAX / 8 + 1};
    for (size_t k = 0; k < 3; k++) {
        unsigned char *c = copy_of(g);
        wr64(c + count_pos, values[k]);
        EXPECT_MODEL("vocabulary count near 2^64", c, g->size, MKV_ERR_FORMAT, "cannot fit");
        wr64(c + count_pos, rd64(g->p + count_pos));
        wr64(c + first_string, values[k]);
        EXPECT_MODEL("vocabulary string length near 2^64", c, g->size, MKV_ERR_FORMAT, "past the end");
        free(c);
    }
    /* nested array depth and element type */
    unsigned char *c = copy_of(g);
    wr32(c + g->kv_value[tokens], 99);
    EXPECT_MODEL("array of element type 99", c, g->size, MKV_ERR_FORMAT, "unknown array element type 99");
    wr32(c + g->kv_value[tokens], 8);
    wr32(c + g->kv_value[0] - 4, 13);
    EXPECT_MODEL("value type 13", c, g->size, MKV_ERR_FORMAT, "unknown value type 13");
    free(c);
    free_layout(g);
}

TEST(badinput_gguf_overlapping_and_misaligned_tensors) {
    gguf_layout *g = load_layout();
    REQUIRE(g);
    unsigned char *c = copy_of(g);
    wr64(c + g->ti_offset[1], g->offset[0]);
    EXPECT_MODEL("tensor 1 at tensor 0's offset", c, g->size, MKV_ERR_FORMAT, "overlap");
    wr64(c + g->ti_offset[1], g->offset[1] - 32); /* starts inside the previous tensor's data */
    EXPECT_MODEL("tensor 1 32 bytes early", c, g->size, MKV_ERR_FORMAT, "overlap");
    wr64(c + g->ti_offset[1], g->offset[1] + 4);
    EXPECT_MODEL("tensor 1 misaligned by 4", c, g->size, MKV_ERR_FORMAT, "not a multiple of the alignment 32");
    wr64(c + g->ti_offset[1], g->offset[1] + 1);
    EXPECT_MODEL("tensor 1 misaligned by 1", c, g->size, MKV_ERR_FORMAT, "not a multiple of the alignment");
    free(c);
    /* two tensors with the same name */
    c = copy_of(g);
    int a = tensor_index(g, "blk.0.attn_k.weight"), b = tensor_index(g, "blk.0.attn_q.weight");
    REQUIRE(a >= 0 && b >= 0);
    memcpy(c + g->ti_start[a] + 8, g->tensor[b], strlen(g->tensor[b]));
    EXPECT_MODEL("duplicate tensor name", c, g->size, MKV_ERR_FORMAT, "duplicate tensor name 'blk.0.attn_q.weight'");
    free(c);
    free_layout(g);
}

TEST(badinput_gguf_shape_disagrees_with_metadata) {
    gguf_layout *g = load_layout();
    REQUIRE(g);
    EXPECT_U32_KV(g, "llada.feed_forward_length", 128, MKV_ERR_FORMAT,
                  "tensor 'blk.0.ffn_gate.weight' has shape [96, 160], expected [96, 128]");
    EXPECT_U32_KV(g, "llada.vocab_size", 400, MKV_ERR_FORMAT, "tensor 'token_embd.weight' has shape [96, 384], expected [96, 400]");
    EXPECT_U32_KV(g, "llada.block_count", 3, MKV_ERR_FORMAT, "3 layers need at least 27 tensors, the model has 21");
    EXPECT_U32_KV(g, "llada.feed_forward_length", 96, MKV_ERR_FORMAT, "has shape [96, 160], expected [96, 96]");
    EXPECT_U32_KV(g, "llada.block_count", 1, MKV_ERR_FORMAT, "'blk.1.attn_q.weight' exists but the model has 1 layers");
    /* a transposed weight: same bytes, dimensions swapped */
    int t = tensor_index(g, "token_embd.weight");
    REQUIRE(t >= 0 && g->ti_n_dims[t] == 2);
    unsigned char *c = copy_of(g);
    wr64(c + g->ti_ne[t], 384);
    wr64(c + g->ti_ne[t] + 8, 96);
    EXPECT_MODEL("transposed embedding", c, g->size, MKV_ERR_FORMAT, "has shape [384, 96], expected [96, 384]");
    free(c);
    /* the same bytes in rows of 48 */
    int q = tensor_index(g, "blk.0.attn_q.weight");
    REQUIRE(q >= 0);
    c = copy_of(g);
    wr64(c + g->ti_ne[q], 48);
    wr64(c + g->ti_ne[q] + 8, 192);
    EXPECT_MODEL("attn_q reshaped", c, g->size, MKV_ERR_FORMAT, "'blk.0.attn_q.weight' has shape [48, 192], expected [96, 96]");
    free(c);
    free_layout(g);
}

TEST(badinput_gguf_unknown_ggml_types) {
    gguf_layout *g = load_layout();
    REQUIRE(g);
    /* ggml types that maskkv does not read are named; ids ggml never used are numbers */
    uint32_t types[] = {16, 15, 29, 31, 39, 99, UINT32_MAX};
    const char *names[] = {"iq2_xxs", "q8_K", "iq1_m", "q4_0_4_4 (removed)", "mxfp4", NULL, NULL};
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        unsigned char *c = copy_of(g);
        wr32(c + g->ti_type[2], types[k]);
        char text[96];
        if (names[k]) snprintf(text, sizeof text, "has type %s, which maskkv does not support", names[k]);
        else snprintf(text, sizeof text, "has ggml type %u, which maskkv does not support", types[k]);
        EXPECT_MODEL("unknown ggml type", c, g->size, MKV_ERR_UNSUPPORTED, text);
        free(c);
    }
    /* a supported type whose size disagrees with the data: f32 read as f16 is
     * valid for the reader, the weights are half as long, and the next
     * tensor's data follows: shapes still bind */
    unsigned char *c = copy_of(g);
    wr32(c + g->ti_type[0], 1);
    EXPECT_MODEL("f32 tensor relabelled f16", c, g->size, MKV_OK, "");
    /* q8_0 needs rows that are a multiple of 32 elements; 96 is, 160 / 32 too */
    int o = tensor_index(g, "output_norm.weight");
    wr64(c + g->ti_ne[o], 95);
    EXPECT_MODEL("odd norm length", c, g->size, MKV_ERR_FORMAT, "tensor 'output_norm.weight' has shape [95], expected [96]");
    free(c);
    c = copy_of(g);
    wr32(c + g->ti_type[o], 8);
    wr64(c + g->ti_ne[o], 95);
    EXPECT_MODEL("q8_0 row of 95", c, g->size, MKV_ERR_FORMAT, "not a multiple of 32");
    free(c);
    free_layout(g);
}

TEST(badinput_gguf_zero_layers_heads_and_sizes) {
    gguf_layout *g = load_layout();
    REQUIRE(g);
    EXPECT_U32_KV(g, "llada.block_count", 0, MKV_ERR_FORMAT, "n_layers is 0 (must be positive)");
    EXPECT_U32_KV(g, "llada.attention.head_count", 0, MKV_ERR_FORMAT, "n_heads is 0 (must be positive)");
    EXPECT_U32_KV(g, "llada.attention.head_count_kv", 0, MKV_ERR_FORMAT, "n_kv_heads is 0 (must be positive)");
    EXPECT_U32_KV(g, "llada.embedding_length", 0, MKV_ERR_FORMAT, "is 0 (must be positive)");
    EXPECT_U32_KV(g, "llada.feed_forward_length", 0, MKV_ERR_FORMAT, "d_ff is 0 (must be positive)");
    EXPECT_U32_KV(g, "llada.context_length", 0, MKV_ERR_FORMAT, "n_ctx is 0 (must be positive)");
    EXPECT_U32_KV(g, "llada.vocab_size", 0, MKV_ERR_FORMAT, "n_vocab is 0 (must be positive)");
    EXPECT_U32_KV(g, "llada.block_count", 0x7fffffff, MKV_ERR_FORMAT, "an integer in [0, 2^30]");
        /* refused before allocating 2^30 layer descriptions */
    EXPECT_U32_KV(g, "llada.block_count", 1u << 30, MKV_ERR_FORMAT, "1073741824 layers need at least 9663676416 tensors, the model has 21");
    free_layout(g);
}

TEST(badinput_gguf_head_dim_not_matching) {
    gguf_layout *g = load_layout();
    REQUIRE(g);
    /* 96 / 4 = 24, but RoPE covers 32 dimensions */
    EXPECT_U32_KV(g, "llada.attention.head_count", 4, MKV_ERR_UNSUPPORTED, "rope.dimension_count 32 differs from head_dim 24");
    EXPECT_U32_KV(g, "llada.attention.head_count_kv", 2, MKV_ERR_FORMAT, "n_heads 3 is not a multiple of n_kv_heads 2");
    EXPECT_U32_KV(g, "llada.rope.dimension_count", 16, MKV_ERR_UNSUPPORTED, "partial RoPE");
    /* an explicit head_dim (attention.key_length, the same length as the key it
     * replaces) that does not match d_model / n_heads */
    int r = kv_index(g, "llada.rope.dimension_count");
    REQUIRE(r >= 0 && strlen("llada.attention.key_length") == strlen(g->key[r]));
    unsigned char *c = copy_of(g);
    memcpy(c + g->kv_start[r] + 8, "llada.attention.key_length", strlen(g->key[r]));
    EXPECT_MODEL("key_length 32 with its own name", c, g->size, MKV_OK, "");
    int h = kv_index(g, "llada.attention.head_count"), hkv = kv_index(g, "llada.attention.head_count_kv");
    wr32(c + g->kv_value[h], 4);
    wr32(c + g->kv_value[hkv], 4);
    EXPECT_MODEL("head_dim 32 x 4 heads", c, g->size, MKV_ERR_FORMAT, "head_dim 32 x n_heads 4 = 128 does not match d_model 96");
    wr32(c + g->kv_value[h], 3);
    wr32(c + g->kv_value[hkv], 3);
    wr32(c + g->kv_value[r], 31);
    EXPECT_MODEL("odd head_dim", c, g->size, MKV_ERR_FORMAT, "does not match d_model 96");
    free(c);
    free_layout(g);
}

TEST(badinput_gguf_special_ids_outside_the_vocabulary) {
    gguf_layout *g = load_layout();
    REQUIRE(g);
    EXPECT_U32_KV(g, "tokenizer.ggml.mask_token_id", 384, MKV_ERR_FORMAT, "mask token id 384 is outside the vocabulary of 384 tokens");
    EXPECT_U32_KV(g, "tokenizer.ggml.bos_token_id", 100000, MKV_ERR_FORMAT, "tokenizer.ggml.bos_token_id is not a token id");
    EXPECT_U32_KV(g, "tokenizer.ggml.eos_token_id", 0x80000000u, MKV_ERR_FORMAT, "'tokenizer.ggml.eos_token_id' is not a token id");
    /* a vocabulary smaller than the special ids: the mask token (344) is past it */
    EXPECT_U32_KV(g, "llada.vocab_size", 300, MKV_ERR_FORMAT, "token id 3");
    EXPECT_U32_KV(g, "llada.vocab_size", 300, MKV_ERR_FORMAT, "is outside the vocabulary of 300 tokens");
    free_layout(g);
}

/* Unreadable and missing model files (the CLI tests cover the same through
 * the command; a directory without a config is an HF checkpoint error). */
TEST(badinput_missing_and_unreadable_model_files) {
    mkv_model *model = NULL;
    CHECK_EQ_INT(mkv_model_load("/nonexistent/model.gguf", &model), MKV_ERR_IO);
    CHECK(strstr(mkv_last_error(), "cannot open"));
    CHECK_EQ_INT(mkv_model_load("", &model), MKV_ERR_IO);
    const char *path = temp_file("unreadable.gguf");
    REQUIRE(path && write_file(path, "GGUF", 4));
    chmod(path, 0);
    if (geteuid() != 0) { /* root reads through chmod 000 */
        CHECK_EQ_INT(mkv_model_load(path, &model), MKV_ERR_IO);
        CHECK_MSG(strstr(mkv_last_error(), "Permission denied"), "message: %s", mkv_last_error());
    }
    unlink(path);
    CHECK(model == NULL);
    if (temp_dir[0]) rmdir(temp_dir);
}
