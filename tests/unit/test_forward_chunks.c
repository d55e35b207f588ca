/* The forward pass runs its row-wise work in chunks so that a long prompt
 * needs O(n x d_model) activation memory: the results (logits, K/V written to
 * the store, Mask-Voting sums, layer importance) must not depend on the chunk
 * size, and the workspace must stay O(n x d_model). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/forward.h"
#include "synthetic_model.h"
#include "test.h"
#include "util/fp16.h"

typedef struct {
    int n_heads, n_keys;
    float *votes; /* [n_layers][n_heads][n_keys] */
} vote_capture;

static mkv_status capture_votes(void *ctx, int layer, mkv_kv_store *store, float *const *vote_sums) {
    (void)store;
    vote_capture *c = ctx;
    for (int h = 0; h < c->n_heads; h++)
        memcpy(c->votes + ((size_t)layer * c->n_heads + h) * c->n_keys, vote_sums[h], (size_t)c->n_keys * sizeof(float));
    return MKV_OK;
}

typedef struct {
    float *logits, *votes, *k_last;
    double importance[8];
} pass_result;

/* One full pass over n positions with chunk size `chunk`; mask tokens vote. */
static int run_as(const mkv_model *m, mkv_compute compute, const int32_t *tokens, int n, int chunk, pass_result *r) {
    const mkv_hparams *hp = &m->hp;
    mkv_workspace ws;
    mkv_kv_store store;
    if (mkv_workspace_init_chunked(&ws, hp, n, chunk) != MKV_OK) return 0;
    ws.compute = compute;
    if (mkv_kv_store_init_dtype(&store, hp->n_layers, hp->n_kv_heads, hp->head_dim, 0, n, false,
                                mkv_compute_kv_dtype(compute)) != MKV_OK)
        return 0;
    int32_t *rows = malloc((size_t)n * sizeof *rows);
    uint8_t *voters = malloc((size_t)n);
    for (int i = 0; i < n; i++) {
        rows[i] = i;
        voters[i] = tokens[i] == hp->mask_id;
    }
    vote_capture cap = {hp->n_heads, n, calloc((size_t)hp->n_layers * hp->n_heads * n, sizeof(float))};
    mkv_forward_observer obs = {.vote_rows = voters, .after_attention = capture_votes, .ctx = &cap,
                                .layer_importance = r->importance};
    r->logits = malloc((size_t)n * hp->n_vocab * sizeof(float));
    mkv_status st = mkv_forward(m, &ws, &store, tokens, rows, n, &obs, rows, n, r->logits);
    r->votes = cap.votes;
    size_t kv_floats = (size_t)n * hp->head_dim;
    r->k_last = malloc(kv_floats * sizeof(float));
    const void *k_last = store.layers[hp->n_layers - 1].heads[0].k;
    for (size_t e = 0; e < kv_floats; e++)
        r->k_last[e] = store.dtype == MKV_TYPE_BF16 ? mkv_bf16_to_f32(((const uint16_t *)k_last)[e]) : ((const float *)k_last)[e];
    free(rows);
    free(voters);
    mkv_kv_store_free(&store);
    mkv_workspace_free(&ws);
    return st == MKV_OK;
}

static int run(const mkv_model *m, const int32_t *tokens, int n, int chunk, pass_result *r) {
    return run_as(m, MKV_COMPUTE_F32, tokens, n, chunk, r);
}

static double max_rel_diff(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (e > num) num = e;
        if (fabs(b[i]) > den) den = fabs(b[i]);
    }
    return den > 0 ? num / den : num;
}

static void free_result(pass_result *r) {
    free(r->logits);
    free(r->votes);
    free(r->k_last);
}

static void check_chunk_invariance(mkv_arch arch) {
    const int n = 300;
    mkv_model *m = synthetic_model(arch, 3, 32, 4, arch == MKV_ARCH_DREAM ? 2 : 4, 48, 64, 21);
    REQUIRE(m);
    int32_t tokens[300];
    for (int i = 0; i < n; i++) tokens[i] = i >= 260 && i % 3 ? m->hp.mask_id : 1 + (i * 17) % 50;
    pass_result whole = {0}, small = {0}, odd = {0};
    REQUIRE(run(m, tokens, n, n, &whole));
    REQUIRE(run(m, tokens, n, 7, &small));
    REQUIRE(run(m, tokens, n, 256, &odd));
    const mkv_hparams *hp = &m->hp;
    size_t nl = (size_t)n * hp->n_vocab, nv = (size_t)hp->n_layers * hp->n_heads * n;
    pass_result *others[2] = {&small, &odd};
    for (int k = 0; k < 2; k++) {
        pass_result *o = others[k];
        CHECK_MSG(max_rel_diff(o->logits, whole.logits, nl) < 1e-5, "logits differ by %g",
                  max_rel_diff(o->logits, whole.logits, nl));
        CHECK_MSG(max_rel_diff(o->votes, whole.votes, nv) < 1e-5, "votes differ by %g",
                  max_rel_diff(o->votes, whole.votes, nv));
        CHECK_MSG(max_rel_diff(o->k_last, whole.k_last, (size_t)n * hp->head_dim) < 1e-5, "stored K differs");
        for (int l = 0; l < hp->n_layers; l++) CHECK_NEAR(o->importance[l], whole.importance[l], 1e-6);
    }
    /* the votes are real: 27 mask queries, each distributing probability 1 over n keys */
    double total = 0;
    for (int j = 0; j < n; j++) total += whole.votes[j];
    CHECK_NEAR(total, 27.0, 1e-3);
    free_result(&whole);
    free_result(&small);
    free_result(&odd);
    synthetic_model_free(m);
}

TEST(forward_chunk_size_does_not_change_llada_results) { check_chunk_invariance(MKV_ARCH_LLADA); }
TEST(forward_chunk_size_does_not_change_dream_results) { check_chunk_invariance(MKV_ARCH_DREAM); }

/* bf16 compute (AMX where the CPU has it: head_dim 32, so the chunks of a
 * layer share one prepared V^T; vdpbf16ps or the reference elsewhere): the
 * chunks give the same bits as one pass over every row. */
TEST(forward_chunk_size_does_not_change_bf16_results) {
    const int n = 600;
    mkv_model *m = synthetic_model(MKV_ARCH_LLADA, 2, 128, 4, 4, 96, 64, 23);
    REQUIRE(m);
    int32_t tokens[600];
    for (int i = 0; i < n; i++) tokens[i] = i >= 560 && i % 3 ? m->hp.mask_id : 1 + (i * 13) % 50;
    pass_result whole = {0}, chunked = {0};
    REQUIRE(run_as(m, MKV_COMPUTE_BF16, tokens, n, n, &whole));
    REQUIRE(run_as(m, MKV_COMPUTE_BF16, tokens, n, 256, &chunked));
    const mkv_hparams *hp = &m->hp;
    CHECK(memcmp(whole.logits, chunked.logits, (size_t)n * hp->n_vocab * sizeof(float)) == 0);
    CHECK(memcmp(whole.votes, chunked.votes, (size_t)hp->n_layers * hp->n_heads * n * sizeof(float)) == 0);
    CHECK(memcmp(whole.k_last, chunked.k_last, (size_t)n * hp->head_dim * sizeof(float)) == 0);
    /* and bf16 is bf16, not f32 under another name */
    pass_result f32 = {0};
    REQUIRE(run(m, tokens, n, 256, &f32));
    double d = max_rel_diff(chunked.logits, f32.logits, (size_t)n * hp->n_vocab);
    CHECK_MSG(d > 1e-6 && d < 5e-2, "bf16 vs f32 logits differ by %g", d);
    free_result(&whole);
    free_result(&chunked);
    free_result(&f32);
    synthetic_model_free(m);
}

TEST(forward_workspace_is_linear_in_rows_with_one_residual_stream) {
    /* LLaDA-8B shapes at a 32k prompt: the workspace is the residual stream
     * plus fixed-size chunks (1024 rows x 49,152 floats = 192 MiB), not 7 x n
     * x d_model floats (7.3 GiB here) */
    mkv_hparams hp = {.n_layers = 32, .d_model = 4096, .n_heads = 32, .n_kv_heads = 32, .head_dim = 128,
                      .d_ff = 12288, .n_vocab = 126464};
    size_t n = 32768 + 128, residual = n * hp.d_model * sizeof(float);
    size_t bytes = mkv_forward_workspace_bytes(&hp, (int)n);
    CHECK_MSG(bytes >= residual, "workspace %zu < residual stream %zu", bytes, residual);
    CHECK_MSG(bytes < residual + (200u << 20), "workspace %zu bytes for %zu rows (residual %zu)", bytes, n, residual);
    /* and the allocation agrees with the estimate */
    mkv_hparams small = {.n_layers = 2, .d_model = 16, .n_heads = 2, .n_kv_heads = 1, .head_dim = 8, .d_ff = 24,
                         .n_vocab = 40};
    mkv_workspace ws;
    REQUIRE(mkv_workspace_init(&ws, &small, 3000) == MKV_OK);
    CHECK_EQ_INT(ws.bytes, mkv_forward_workspace_bytes(&small, 3000));
    CHECK_EQ_INT(ws.chunk_rows, 1024);
    mkv_workspace_free(&ws);
    REQUIRE(mkv_workspace_init(&ws, &small, 1000) == MKV_OK); /* fewer rows than a chunk: one chunk of them */
    CHECK_EQ_INT(ws.bytes, mkv_forward_workspace_bytes(&small, 1000));
    CHECK_EQ_INT(ws.chunk_rows, 1000);
    mkv_workspace_free(&ws);
    CHECK(mkv_workspace_init_chunked(&ws, &small, 10, 11) != MKV_OK);
    CHECK(mkv_workspace_init_chunked(&ws, &small, 10, 0) != MKV_OK);
}
