/* Eviction policies (src/cache/evict.c, selectors.c): selectors on hand-made
 * vote arrays, and whole selection passes driven by hand on a lazy KV store
 * the way the forward pass drives them (before_layer, K/V written, attention
 * with vote sums, after_attention, layer importance, finish). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cache/budgets.h"
#include "cache/evict.h"
#include "cache/kv_store.h"
#include "cache/selectors.h"
#include "test.h"
#include "util/alloc.h"

/* ------------------------------------------------------------- selectors */

TEST(evict_select_top_ties_by_position) {
    float scores[5] = {1, 3, 3, 2, 3};
    mkv_rank_entry scratch[5];
    int32_t keep[5];
    CHECK_EQ_INT(mkv_select_top(scores, 5, 5, 2, scratch, keep), 2);
    CHECK(keep[0] == 1 && keep[1] == 2);
    CHECK_EQ_INT(mkv_select_top(scores, 5, 5, 4, scratch, keep), 4);
    CHECK(keep[0] == 1 && keep[1] == 2 && keep[2] == 3 && keep[3] == 4);
    CHECK_EQ_INT(mkv_select_top(scores, 5, 5, 9, scratch, keep), 5);
    CHECK_EQ_INT(mkv_select_top(scores, 5, 5, 0, scratch, keep), 0);
}

TEST(evict_select_top_protected_window) {
    float scores[6] = {5, 4, 3, 2, 1, 0.5f};
    mkv_rank_entry scratch[6];
    int32_t keep[6];
    /* window {4, 5} always, plus the best other */
    CHECK_EQ_INT(mkv_select_top(scores, 6, 4, 3, scratch, keep), 3);
    CHECK(keep[0] == 0 && keep[1] == 4 && keep[2] == 5);
    /* budget below the window: the window's best by score */
    CHECK_EQ_INT(mkv_select_top(scores, 6, 4, 1, scratch, keep), 1);
    CHECK_EQ_INT(keep[0], 4);
}

TEST(evict_maxpool_same_padding) {
    float in[8] = {0, 5, 0, 0, 0, 0, 1, 0}, out[8];
    mkv_maxpool_1d(in, 8, 3, out);
    float want[8] = {5, 5, 5, 0, 0, 1, 1, 1};
    for (int i = 0; i < 8; i++) CHECK_NEAR(out[i], want[i], 0);
    float small[3] = {1, 2, 0}, pooled[3];
    mkv_maxpool_1d(small, 3, 7, pooled);
    for (int i = 0; i < 3; i++) CHECK_NEAR(pooled[i], 2, 0);
}

TEST(evict_votes_gqa_mean) {
    /* query heads 0, 1 -> KV head 0; 2, 3 -> KV head 1 */
    float q0[3] = {1.0f, 0.6f, 0}, q1[3] = {0, 0.6f, 0}, q2[3] = {2, 2, 2}, q3[3] = {0, 0, 4};
    float *votes[4] = {q0, q1, q2, q3};
    float scores[6];
    mkv_votes_per_kv_head(votes, 4, 2, 3, scores);
    CHECK_NEAR(scores[0], 0.5, 1e-7);
    CHECK_NEAR(scores[1], 0.6, 1e-7); /* the mean picks 1, a max would pick 0 */
    CHECK_NEAR(scores[5], 3.0, 1e-7);
}

TEST(evict_streaming_and_random_scores) {
    float s[10];
    mkv_rank_entry scratch[10];
    int32_t keep[10];
    mkv_streaming_scores(10, 2, s);
    CHECK_EQ_INT(mkv_select_top(s, 10, 10, 5, scratch, keep), 5);
    int want[5] = {0, 1, 7, 8, 9};
    for (int i = 0; i < 5; i++) CHECK_EQ_INT(keep[i], want[i]);
    mkv_select_top(s, 10, 10, 1, scratch, keep);
    CHECK_EQ_INT(keep[0], 0);
    float a[50], b[50], c[50];
    mkv_random_scores(7, 3, 1, 50, a);
    mkv_random_scores(7, 3, 1, 50, b);
    mkv_random_scores(8, 3, 1, 50, c);
    int same = 0, differ = 0;
    for (int i = 0; i < 50; i++) {
        CHECK(a[i] >= 0 && a[i] < 1);
        same += a[i] == b[i];
        differ += a[i] != c[i];
    }
    CHECK_EQ_INT(same, 50);
    CHECK(differ > 45);
}

TEST(evict_adakv_winners_flattened) {
    /* top 6 of both heads: 0.9 0.8 0.7 (h0) 0.6 (h1) 0.1 0.05 (h0) */
    float scores[10] = {0.9f, 0.8f, 0.1f, 0.05f, 0.7f, 0.6f, 0.02f, 0.03f, 0.01f, 0.04f};
    mkv_rank_entry scratch[10];
    int winners[2];
    mkv_adakv_winners(scores, 2, 5, 5, 6, scratch, winners);
    CHECK(winners[0] == 5 && winners[1] == 1);
    /* ties across heads: lower position, then lower head */
    float flat[6] = {1, 1, 1, 1, 1, 1};
    mkv_adakv_winners(flat, 2, 3, 3, 3, scratch, winners);
    CHECK(winners[0] == 2 && winners[1] == 1);
}

/* The selection (quickselect) against a full sort under the ranking, on
 * inputs with many ties, NaN, -0/+0, sorted and reversed runs, every k. */
static int reference_before(const void *pa, const void *pb) {
    const mkv_rank_entry *a = pa, *b = pb;
    if (a->protected_rank != b->protected_rank) return a->protected_rank > b->protected_rank ? -1 : 1;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    if (a->position != b->position) return a->position < b->position ? -1 : 1;
    return a->head < b->head ? -1 : a->head > b->head;
}

static int compare_int(const void *a, const void *b) { return *(const int32_t *)a - *(const int32_t *)b; }

TEST(evict_select_top_matches_full_sort) {
    enum { N = 300 };
    float scores[2 * N];
    mkv_rank_entry scratch[2 * N], ref[2 * N];
    int32_t keep[N], want[N];
    unsigned seed = 12345;
    int checked = 0, bad = 0;
    for (int trial = 0; trial < 60; trial++) {
        int n = 1 + trial * 5 % N, shape = trial % 5, protect = trial % 3 == 0 ? n - n / 7 : n;
        for (int j = 0; j < 2 * n; j++) {
            seed = seed * 1664525u + 1013904223u;
            unsigned r = seed >> 8;
            scores[j] = shape == 0   ? (float)(r % 4)                 /* many ties */
                        : shape == 1 ? (float)j                       /* sorted */
                        : shape == 2 ? (float)(n - j)                 /* reversed */
                        : shape == 3 ? (r % 9 == 0 ? NAN : (r % 2 ? -0.0f : 0.0f))
                                     : (float)(r % 1000) / 999.0f;
        }
        for (int k = 0; k <= n; k += 1 + n / 23) {
            /* one head */
            int got = mkv_select_top(scores, n, protect, k, scratch, keep);
            for (int j = 0; j < n; j++)
                ref[j] = (mkv_rank_entry){isnan(scores[j]) ? -INFINITY : scores[j], j, 0, j >= protect};
            qsort(ref, (size_t)n, sizeof *ref, reference_before);
            for (int i = 0; i < k; i++) want[i] = ref[i].position;
            qsort(want, (size_t)k, sizeof *want, compare_int);
            bad += got != k || memcmp(keep, want, (size_t)k * sizeof *keep) != 0;
            /* AdaKV over two heads of n */
            int winners[2], want_winners[2] = {0, 0};
            mkv_adakv_winners(scores, 2, n, protect, k, scratch, winners);
            for (int h = 0; h < 2; h++)
                for (int j = 0; j < n; j++) {
                    float sc = scores[h * n + j];
                    ref[h * n + j] = (mkv_rank_entry){isnan(sc) ? -INFINITY : sc, j, h, j >= protect};
                }
            qsort(ref, (size_t)(2 * n), sizeof *ref, reference_before);
            for (int i = 0; i < k; i++) want_winners[ref[i].head]++;
            bad += winners[0] != want_winners[0] || winners[1] != want_winners[1];
            checked++;
        }
    }
    CHECK_MSG(bad == 0, "%d of %d selections differ from the full sort", bad, checked);
    CHECK(checked > 500);
}

/* ------------------------------------------------------ policy fixture */

typedef float (*vote_fn)(void *ctx, int layer, int query_head, int position);

typedef struct {
    mkv_hparams hp;
    int n_prompt, n_total, dyn_start;
    int32_t tokens[256];
    mkv_kv_store store;
    mkv_evict_policy *policy;
    mkv_forward_observer obs;
    const double *importance;      /* written into obs.layer_importance, as the forward does */
    /* memory trace of the last pass */
    size_t bytes_before[16], bytes_after[16], bound[16];
} fixture;

#define MASK 99

static void fixture_init(fixture *f, int n_layers, int n_heads, int n_kv_heads, int n_prompt, int n_total, bool shift) {
    memset(f, 0, sizeof *f);
    f->hp.n_layers = n_layers;
    f->hp.n_heads = n_heads;
    f->hp.n_kv_heads = n_kv_heads;
    f->hp.head_dim = 4;
    f->hp.d_model = 4 * n_heads;
    f->hp.mask_id = MASK;
    f->hp.shift_logits = shift;
    f->n_prompt = n_prompt;
    f->n_total = n_total;
    f->dyn_start = n_prompt - (shift ? 1 : 0);
    for (int i = 0; i < n_total; i++) f->tokens[i] = i < n_prompt ? 1 + i % 50 : MASK;
}

static mkv_status fixture_create(fixture *f, const mkv_evict_config *config) {
    mkv_status st = mkv_kv_store_init(&f->store, f->hp.n_layers, f->hp.n_kv_heads, f->hp.head_dim, f->dyn_start,
                                      f->n_total - f->dyn_start, true);
    if (st != MKV_OK) return st;
    return mkv_evict_policy_create(config, &f->hp, f->n_prompt, f->n_total, &f->policy);
}

static void fixture_free(fixture *f) {
    if (f->policy) mkv_evict_policy_free(f->policy);
    mkv_kv_store_free(&f->store);
    f->policy = NULL;
}

static float code(int layer, int head, int position) { return (float)(layer * 100000 + head * 10000 + position); }

/* What the forward does to the store: every row of the active positions. */
static void write_layer(fixture *f, int layer) {
    int hd = f->store.head_dim;
    for (int h = 0; h < f->store.n_kv_heads; h++)
        for (int p = 0; p < f->n_total; p++) {
            int r = mkv_kv_row(&f->store, layer, h, p);
            if (r < 0) continue;
            for (int d = 0; d < hd; d++) {
                ((float *)f->store.layers[layer].heads[h].k)[(size_t)r * hd + d] = code(layer, h, p);
                ((float *)f->store.layers[layer].heads[h].v)[(size_t)r * hd + d] = -code(layer, h, p);
            }
        }
}

static size_t head_bytes(const mkv_kv_store *s, int n_fixed) {
    return 2 * (size_t)(n_fixed + s->n_dyn) * (size_t)s->head_dim * sizeof(float) + (size_t)n_fixed * sizeof(int32_t);
}

static mkv_status run_pass(fixture *f, vote_fn votes, void *ctx) {
    memset(&f->obs, 0, sizeof f->obs);
    mkv_status st = mkv_evict_prepare_pass(f->policy, f->tokens, MASK, &f->obs);
    if (st != MKV_OK) return st;
    int L = f->hp.n_layers, n_rows = f->dyn_start + (f->n_total - f->dyn_start);
    float *block = calloc((size_t)f->hp.n_heads * n_rows, sizeof(float));
    float *vote_sums[64];
    for (int h = 0; h < f->hp.n_heads; h++) vote_sums[h] = block + (size_t)h * n_rows;
    for (int l = 0; l < L && st == MKV_OK; l++) {
        f->bytes_before[l] = f->store.bytes;
        st = f->obs.before_layer(f->obs.ctx, l, &f->store);
        if (st != MKV_OK) break;
        write_layer(f, l);
        /* a full layer: row index == position */
        for (int h = 0; h < f->hp.n_heads; h++)
            for (int p = 0; p < n_rows; p++) vote_sums[h][p] = f->obs.vote_rows ? votes(ctx, l, h, p) : 0;
        st = f->obs.after_attention(f->obs.ctx, l, &f->store, f->obs.vote_rows ? vote_sums : NULL);
        if (f->obs.layer_importance) f->obs.layer_importance[l] = f->importance ? f->importance[l] : 0;
        size_t biggest_head = 0;
        f->bytes_after[l] = f->store.bytes;
        for (int h = 0; h < f->store.n_kv_heads; h++) {
            size_t b = head_bytes(&f->store, f->store.layers[l].heads[h].n_fixed);
            if (b > biggest_head) biggest_head = b;
        }
        f->bound[l] = f->bytes_before[l] + (size_t)f->store.n_kv_heads * head_bytes(&f->store, f->dyn_start) + biggest_head;
    }
    free(block);
    if (st != MKV_OK) return st;
    return mkv_evict_finish_pass(f->policy, &f->store);
}

/* Every head: kept positions increasing, within the prompt rows, K/V rows
 * still those of their positions, dynamic rows intact. */
static void check_store(const fixture *f) {
    const mkv_kv_store *s = &f->store;
    const int64_t *kept = mkv_evict_kept_per_layer(f->policy);
    for (int l = 0; l < s->n_layers; l++) {
        int64_t total = 0;
        for (int h = 0; h < s->n_kv_heads; h++) {
            const mkv_kv_head *head = &s->layers[l].heads[h];
            REQUIRE(head->k != NULL);
            CHECK(head->n_fixed >= 1 && head->n_fixed <= s->dyn_start);
            total += head->n_fixed;
            for (int i = 0; i < head->n_fixed; i++) {
                if (i > 0) CHECK(head->fixed_positions[i] > head->fixed_positions[i - 1]);
                CHECK(((float *)head->k)[(size_t)i * s->head_dim] == code(l, h, head->fixed_positions[i]));
                CHECK(((float *)head->v)[(size_t)i * s->head_dim + 3] == -code(l, h, head->fixed_positions[i]));
            }
            for (int i = 0; i < s->n_dyn; i++)
                CHECK(((float *)head->k)[(size_t)(head->n_fixed + i) * s->head_dim] == code(l, h, s->dyn_start + i));
        }
        CHECK_EQ_INT(kept[l], total);
    }
}

static bool positions_are(const mkv_kv_head *head, const int *want, int n) {
    if (head->n_fixed != n) return false;
    for (int i = 0; i < n; i++)
        if (head->fixed_positions[i] != want[i]) return false;
    return true;
}

static mkv_evict_config config_of(mkv_selector sel, mkv_layer_alloc layers, mkv_head_alloc heads, int budget) {
    mkv_evict_config c;
    mkv_evict_config_defaults(&c);
    c.selector = sel;
    c.layer_alloc = layers;
    c.head_alloc = heads;
    c.budget = budget;
    return c;
}

/* --------------------------------------------------------------- passes */

static float votes_hand(void *ctx, int layer, int qh, int p) {
    (void)ctx, (void)layer;
    if (p >= 10) return 0.2f;
    if (qh == 0) return p == 7 ? 5 : p == 2 ? 4 : p == 5 ? 3 : 0.1f;
    return (p == 0 || p == 9 || p == 4) ? 3 : p == 6 ? 1 : 0.1f;
}

TEST(evict_maskvote_uniform_keeps_top_votes) {
    fixture f;
    fixture_init(&f, 2, 2, 2, 10, 14, false);
    mkv_evict_config c = config_of(MKV_SELECT_MASKVOTE, MKV_LAYERS_UNIFORM, MKV_HEADS_UNIFORM, 3);
    REQUIRE(fixture_create(&f, &c) == MKV_OK);
    REQUIRE(run_pass(&f, votes_hand, NULL) == MKV_OK);
    for (int p = 0; p < 14; p++) CHECK_EQ_INT(f.obs.vote_rows[p], p >= 10);
    check_store(&f);
    int want0[3] = {2, 5, 7}, want1[3] = {0, 4, 9};
    for (int l = 0; l < 2; l++) {
        CHECK(positions_are(&f.store.layers[l].heads[0], want0, 3));
        CHECK(positions_are(&f.store.layers[l].heads[1], want1, 3));
        CHECK_EQ_INT(mkv_evict_layer_budgets(f.policy)[l], 3);
        CHECK_EQ_INT(mkv_evict_kept_per_layer(f.policy)[l], 6);
    }
    CHECK_EQ_INT(mkv_kv_row(&f.store, 0, 0, 5), 1);
    CHECK_EQ_INT(mkv_kv_row(&f.store, 0, 0, 6), -1);
    CHECK_EQ_INT(mkv_kv_row(&f.store, 0, 0, 11), 3 + 1);
    fixture_free(&f);
}

static float votes_gqa(void *ctx, int layer, int qh, int p) {
    (void)ctx, (void)layer;
    if (qh == 0) return p == 3 ? 1.0f : p == 1 ? 0.6f : 0;
    if (qh == 1) return p == 1 ? 0.6f : 0;
    return p == 2 ? 1 : 0; /* heads 2, 3: KV head 1 */
}

TEST(evict_maskvote_gqa_mean_of_group) {
    fixture f;
    fixture_init(&f, 1, 4, 2, 6, 9, false);
    mkv_evict_config c = config_of(MKV_SELECT_MASKVOTE, MKV_LAYERS_UNIFORM, MKV_HEADS_UNIFORM, 1);
    REQUIRE(fixture_create(&f, &c) == MKV_OK);
    REQUIRE(run_pass(&f, votes_gqa, NULL) == MKV_OK);
    check_store(&f);
    int want0[1] = {1}, want1[1] = {2};
    CHECK(positions_are(&f.store.layers[0].heads[0], want0, 1));
    CHECK(positions_are(&f.store.layers[0].heads[1], want1, 1));
    fixture_free(&f);
}

/* Head 0: prompt votes (j+1)/12, sum 3; mask keys 1/3 each, sum 1 -> P = 0.75.
 * Head 1: prompt (j+1)/36, sum 1; mask keys 1 each, sum 3 -> P = 0.25.
 * The decoded response token at position 9 is no mask key (its votes of 7
 * are ignored). Eq. 15 with k_l = 4: floor(0.4 + 7.2*0.75) = 5,
 * floor(0.4 + 7.2*0.25) = 2. */
static float votes_preference(void *ctx, int layer, int qh, int p) {
    (void)ctx, (void)layer;
    if (p == 9) return 7;
    if (p >= 8) return qh == 0 ? 1.0f / 3 : 1.0f;
    return qh == 0 ? (p + 1) / 12.0f : (p + 1) / 36.0f;
}

TEST(evict_preference_head_budgets) {
    fixture f;
    fixture_init(&f, 1, 2, 2, 8, 12, false);
    f.tokens[9] = 5; /* already decoded */
    mkv_evict_config c = config_of(MKV_SELECT_MASKVOTE, MKV_LAYERS_UNIFORM, MKV_HEADS_PREFERENCE, 4);
    REQUIRE(fixture_create(&f, &c) == MKV_OK);
    REQUIRE(run_pass(&f, votes_preference, NULL) == MKV_OK);
    check_store(&f);
    CHECK_EQ_INT(f.obs.vote_rows[9], 0);
    CHECK_EQ_INT(f.obs.vote_rows[8], 1);
    const int *hb = mkv_evict_head_budgets(f.policy);
    CHECK_EQ_INT(hb[0], 5);
    CHECK_EQ_INT(hb[1], 2);
    int want0[5] = {3, 4, 5, 6, 7}, want1[2] = {6, 7};
    CHECK(positions_are(&f.store.layers[0].heads[0], want0, 5));
    CHECK(positions_are(&f.store.layers[0].heads[1], want1, 2));
    fixture_free(&f);
}

static float votes_pseudo(void *ctx, int layer, int qh, int p) {
    unsigned s = (unsigned)(ctx ? *(int *)ctx : 0) * 7919u + (unsigned)layer * 104729u + (unsigned)qh * 1299709u +
                 (unsigned)p * 15485863u;
    s ^= s >> 13;
    s *= 0x5bd1e995u;
    s ^= s >> 15;
    return (float)(s % 1000) / 1000.0f;
}

/* The memory property (SPEC §4): with offline budgets each layer is evicted
 * right after its attention, so the store never holds more than the layers
 * already evicted + one full layer (+ the one head's kept rows that
 * mkv_kv_head_keep allocates before it frees the full head). */
TEST(evict_boundary_offline_evicts_layer_by_layer) {
    fixture f;
    fixture_init(&f, 4, 2, 2, 64, 72, false);
    double importance[4] = {0.4, 0.1, 0.1, 0.4};
    mkv_evict_config c = config_of(MKV_SELECT_MASKVOTE, MKV_LAYERS_BOUNDARY, MKV_HEADS_PREFERENCE, 8);
    c.layer_importance = importance;
    REQUIRE(fixture_create(&f, &c) == MKV_OK);
    CHECK_EQ_INT(f.store.bytes, 0); /* lazy: nothing before the pass */
    int seed = 1;
    REQUIRE(run_pass(&f, votes_pseudo, &seed) == MKV_OK);
    CHECK(f.obs.layer_importance == NULL); /* offline: nothing measured */
    check_store(&f);
    size_t full_layer = 2 * head_bytes(&f.store, 64), bound = 0;
    for (int l = 0; l < 4; l++) {
        if (f.bound[l] > bound) bound = f.bound[l];
        /* right after its attention, layer l holds only its kept rows */
        size_t kept_bytes = 0;
        for (int h = 0; h < 2; h++) kept_bytes += head_bytes(&f.store, f.store.layers[l].heads[h].n_fixed);
        CHECK_EQ_INT(f.bytes_after[l] - f.bytes_before[l], kept_bytes);
        CHECK(kept_bytes < full_layer / 2);
    }
    CHECK_MSG(f.store.peak_bytes <= bound, "peak %zu > bound %zu", f.store.peak_bytes, bound);
    CHECK(f.store.peak_bytes < 2 * full_layer);
    /* k_p = 32, k_base 3.2, k_imp 19.2: boundary 10.88, middle 5.12 -> 11 5 5 11 */
    const int *lb = mkv_evict_layer_budgets(f.policy);
    CHECK(lb[0] == 11 && lb[1] == 5 && lb[2] == 5 && lb[3] == 11);
    const int64_t *kept = mkv_evict_kept_per_layer(f.policy);
    for (int l = 0; l < 4; l++) CHECK(kept[l] <= 2 * lb[l] && kept[l] >= 2 * lb[l] - 2);
    fixture_free(&f);
}

/* Online allocations keep every layer full until finish_pass. */
TEST(evict_squeeze_online_evicts_at_finish) {
    fixture f;
    fixture_init(&f, 6, 2, 2, 20, 24, false);
    double importance[6] = {0.30, 0.02, 0.03, 0.10, 0.11, 0.31};
    f.importance = importance;
    mkv_evict_config c = config_of(MKV_SELECT_MASKVOTE, MKV_LAYERS_SQUEEZE, MKV_HEADS_UNIFORM, 10);
    REQUIRE(fixture_create(&f, &c) == MKV_OK);
    memset(&f.obs, 0, sizeof f.obs);
    REQUIRE(mkv_evict_prepare_pass(f.policy, f.tokens, MASK, &f.obs) == MKV_OK);
    REQUIRE(f.obs.layer_importance != NULL);
    float *block = calloc((size_t)2 * 24, sizeof(float));
    float *votes[2] = {block, block + 24};
    for (int l = 0; l < 6; l++) {
        REQUIRE(f.obs.before_layer(f.obs.ctx, l, &f.store) == MKV_OK);
        write_layer(&f, l);
        for (int h = 0; h < 2; h++)
            for (int p = 0; p < 24; p++) votes[h][p] = votes_pseudo(NULL, l, h, p);
        REQUIRE(f.obs.after_attention(f.obs.ctx, l, &f.store, votes) == MKV_OK);
        f.obs.layer_importance[l] = importance[l];
    }
    for (int l = 0; l < 6; l++)
        for (int h = 0; h < 2; h++) CHECK_EQ_INT(f.store.layers[l].heads[h].n_fixed, 20);
    REQUIRE(mkv_evict_finish_pass(f.policy, &f.store) == MKV_OK);
    free(block);
    check_store(&f);
    /* low group {1, 2} gets 4, the others (60 - 8) / 4 = 13 */
    int want[6] = {13, 4, 4, 13, 13, 13};
    for (int l = 0; l < 6; l++) {
        CHECK_EQ_INT(mkv_evict_layer_budgets(f.policy)[l], want[l]);
        CHECK_EQ_INT(mkv_evict_kept_per_layer(f.policy)[l], 2 * want[l]);
    }
    fixture_free(&f);
}

TEST(evict_boundary_without_profile_fails_clearly) {
    fixture f;
    fixture_init(&f, 2, 2, 2, 10, 14, false);
    mkv_evict_config c;
    mkv_evict_config_defaults(&c);
    CHECK(c.layer_alloc == MKV_LAYERS_BOUNDARY && c.selector == MKV_SELECT_MASKVOTE && c.head_alloc == MKV_HEADS_PREFERENCE);
    CHECK(fixture_create(&f, &c) == MKV_ERR_USAGE);
    CHECK(f.policy == NULL);
    CHECK(strstr(mkv_last_error(), "maskkv calibrate") != NULL);
    CHECK(strstr(mkv_last_error(), "boundary-online") != NULL);
    CHECK(strchr(mkv_last_error(), '\n') == NULL);
    fixture_free(&f);
}

TEST(evict_config_defaults_and_validation) {
    mkv_evict_config c;
    mkv_evict_config_defaults(&c);
    CHECK(c.budget == 256 && c.alpha == 0.1 && c.beta == 0.4 && c.pyramid_beta == 20 && c.adakv_safeguard == 0.2);
    CHECK(c.squeeze_low_share == 0.4 && c.window == 32 && c.pool_kernel == 7 && c.boundary_size == 1 && c.sink_tokens == 4);
    fixture f;
    fixture_init(&f, 2, 2, 2, 10, 14, false);
    mkv_evict_config bad = config_of(MKV_SELECT_MASKVOTE, MKV_LAYERS_UNIFORM, MKV_HEADS_UNIFORM, 4);
    bad.alpha = 1.5;
    CHECK(mkv_evict_policy_create(&bad, &f.hp, 10, 14, &f.policy) == MKV_ERR_USAGE);
    CHECK(strstr(mkv_last_error(), "alpha") != NULL);
    bad.alpha = 0.1;
    bad.pool_kernel = 4;
    CHECK(mkv_evict_policy_create(&bad, &f.hp, 10, 14, &f.policy) == MKV_ERR_USAGE);
    bad.pool_kernel = 7;
    bad.budget = 0;
    CHECK(mkv_evict_policy_create(&bad, &f.hp, 10, 14, &f.policy) == MKV_ERR_USAGE);
    CHECK(f.policy == NULL);
}

TEST(evict_names_round_trip) {
    for (int i = 0; i <= MKV_SELECT_FULL; i++) {
        mkv_selector s;
        CHECK(mkv_selector_from_name(mkv_selector_name((mkv_selector)i), &s) && (int)s == i);
    }
    for (int i = 0; i <= MKV_LAYERS_BOUNDARY_ONLINE; i++) {
        mkv_layer_alloc a;
        CHECK(mkv_layer_alloc_from_name(mkv_layer_alloc_name((mkv_layer_alloc)i), &a) && (int)a == i);
    }
    for (int i = 0; i <= MKV_HEADS_PREFERENCE; i++) {
        mkv_head_alloc a;
        CHECK(mkv_head_alloc_from_name(mkv_head_alloc_name((mkv_head_alloc)i), &a) && (int)a == i);
    }
    mkv_selector s;
    CHECK(!mkv_selector_from_name("h2o", &s));
    CHECK(strcmp(mkv_layer_alloc_name(MKV_LAYERS_BOUNDARY_ONLINE), "boundary-online") == 0);
}

/* SPEC §4 exactness: B >= n_prompt keeps every prompt row (and needs no votes). */
TEST(evict_budget_covering_prompt_keeps_everything) {
    fixture f;
    fixture_init(&f, 3, 2, 2, 10, 14, false);
    double importance[3] = {1, 0, 1};
    mkv_evict_config c = config_of(MKV_SELECT_MASKVOTE, MKV_LAYERS_BOUNDARY, MKV_HEADS_PREFERENCE, 10);
    c.layer_importance = importance;
    REQUIRE(fixture_create(&f, &c) == MKV_OK);
    REQUIRE(run_pass(&f, votes_hand, NULL) == MKV_OK);
    CHECK(f.obs.vote_rows == NULL);
    check_store(&f);
    for (int l = 0; l < 3; l++) {
        CHECK_EQ_INT(mkv_evict_kept_per_layer(f.policy)[l], 20);
        CHECK_EQ_INT(mkv_evict_layer_budgets(f.policy)[l], 10);
    }
    fixture_free(&f);
}

/* SnapKV: the window (16..19) votes and is kept; the spike at 5 pools over
 * 4..6 and the one at 12 over 11..13; budget 6 = window + 2: 4 and 5
 * (ties -> lower position). Budget 2: the window's two best, 18 and 19. */
static float votes_snap(void *ctx, int layer, int qh, int p) {
    (void)ctx, (void)layer, (void)qh;
    if (p == 5) return 10;
    if (p == 12) return 9;
    if (p >= 16 && p < 20) return 0.1f * (float)(p - 15);
    return 0;
}

TEST(evict_snapkv_window_and_pooling) {
    for (int pass = 0; pass < 2; pass++) {
        fixture f;
        fixture_init(&f, 1, 1, 1, 20, 24, false);
        mkv_evict_config c = config_of(MKV_SELECT_SNAPKV, MKV_LAYERS_UNIFORM, MKV_HEADS_UNIFORM, pass == 0 ? 6 : 2);
        c.window = 4;
        c.pool_kernel = 3;
        REQUIRE(fixture_create(&f, &c) == MKV_OK);
        REQUIRE(run_pass(&f, votes_snap, NULL) == MKV_OK);
        for (int p = 0; p < 24; p++) CHECK_EQ_INT(f.obs.vote_rows[p], p >= 16 && p < 20);
        check_store(&f);
        int want6[6] = {4, 5, 16, 17, 18, 19}, want2[2] = {18, 19};
        CHECK(pass == 0 ? positions_are(&f.store.layers[0].heads[0], want6, 6)
                        : positions_are(&f.store.layers[0].heads[0], want2, 2));
        fixture_free(&f);
    }
}

/* Dream: the last prompt token is a dynamic row, never evicted; the budget
 * applies to positions 0..n_prompt-2. */
TEST(evict_dream_last_prompt_token_stays_dynamic) {
    fixture f;
    fixture_init(&f, 2, 4, 2, 10, 14, true);
    mkv_evict_config c = config_of(MKV_SELECT_MASKVOTE, MKV_LAYERS_UNIFORM, MKV_HEADS_UNIFORM, 5);
    REQUIRE(fixture_create(&f, &c) == MKV_OK);
    int seed = 3;
    REQUIRE(run_pass(&f, votes_pseudo, &seed) == MKV_OK);
    check_store(&f);
    for (int l = 0; l < 2; l++)
        for (int h = 0; h < 2; h++) {
            const mkv_kv_head *head = &f.store.layers[l].heads[h];
            CHECK_EQ_INT(head->n_fixed, 5);
            CHECK(head->fixed_positions[4] <= 8);
            CHECK_EQ_INT(mkv_kv_row(&f.store, l, h, 9), 5);
        }
    fixture_free(&f);
    /* B = 9 = every evictable row: everything stays */
    fixture_init(&f, 2, 4, 2, 10, 14, true);
    c.budget = 9;
    REQUIRE(fixture_create(&f, &c) == MKV_OK);
    REQUIRE(run_pass(&f, votes_pseudo, &seed) == MKV_OK);
    CHECK_EQ_INT(mkv_evict_kept_per_layer(f.policy)[0], 18);
    fixture_free(&f);
}

/* AdaKV through a pass: the budget_adakv example (winners 5, 1 of k_l = 3). */
static float votes_adakv(void *ctx, int layer, int qh, int p) {
    (void)ctx, (void)layer;
    static const float s[2][5] = {{0.9f, 0.8f, 0.1f, 0.05f, 0.7f}, {0.6f, 0.02f, 0.03f, 0.01f, 0.04f}};
    return p < 5 ? s[qh][p] : 0.5f;
}

TEST(evict_adakv_policy) {
    fixture f;
    fixture_init(&f, 1, 2, 2, 5, 8, false);
    mkv_evict_config c = config_of(MKV_SELECT_MASKVOTE, MKV_LAYERS_UNIFORM, MKV_HEADS_ADAKV, 3);
    REQUIRE(fixture_create(&f, &c) == MKV_OK);
    REQUIRE(run_pass(&f, votes_adakv, NULL) == MKV_OK);
    check_store(&f);
    const int *hb = mkv_evict_head_budgets(f.policy);
    CHECK_EQ_INT(hb[0], 5);
    CHECK_EQ_INT(hb[1], 1);
    int want1[1] = {0};
    CHECK_EQ_INT(f.store.layers[0].heads[0].n_fixed, 5);
    CHECK(positions_are(&f.store.layers[0].heads[1], want1, 1));
    fixture_free(&f);
}

/* Every selector x layer allocation x head allocation runs, on LLaDA- and
 * Dream-shaped stores, twice (a prompt refresh re-selects from full layers),
 * and keeps within budget and within the prompt. */
TEST(evict_all_combinations_run) {
    for (int shape = 0; shape < 2; shape++) {
        bool dream = shape == 1;
        int L = dream ? 5 : 6, heads = 4, kv = dream ? 2 : 4;
        int budgets[4] = {1, 7, 39, 100};
        double importance[6] = {0.5, 0.05, 0.1, 0.07, 0.2, 0.6};
        for (int sel = 0; sel <= MKV_SELECT_FULL; sel++)
            for (int la = 0; la <= MKV_LAYERS_BOUNDARY_ONLINE; la++)
                for (int ha = 0; ha <= MKV_HEADS_PREFERENCE; ha++)
                    for (int b = 0; b < 4; b++) {
                        fixture f;
                        fixture_init(&f, L, heads, kv, 40, 48, dream);
                        f.importance = importance;
                        mkv_evict_config c = config_of((mkv_selector)sel, (mkv_layer_alloc)la, (mkv_head_alloc)ha, budgets[b]);
                        c.layer_importance = importance;
                        c.window = 8;
                        c.seed = 11;
                        REQUIRE(fixture_create(&f, &c) == MKV_OK);
                        for (int pass = 0; pass < 2; pass++) {
                            int seed = pass;
                            f.tokens[44 + pass] = 3; /* decoding goes on between passes */
                            mkv_status st = run_pass(&f, votes_pseudo, &seed);
                            CHECK_MSG(st == MKV_OK, "%s/%s/%s B=%d: %s", mkv_selector_name(sel), mkv_layer_alloc_name(la),
                                      mkv_head_alloc_name(ha), budgets[b], mkv_last_error());
                            if (st != MKV_OK) break;
                            check_store(&f);
                            int n_ev = f.dyn_start;
                            int64_t total = 0;
                            for (int l = 0; l < L; l++) total += mkv_evict_kept_per_layer(f.policy)[l];
                            bool keep_all = sel == MKV_SELECT_FULL || budgets[b] >= n_ev;
                            if (keep_all) CHECK_EQ_INT(total, (int64_t)L * kv * n_ev);
                            else if (la != MKV_LAYERS_PYRAMID)
                                CHECK_MSG(total <= (int64_t)budgets[b] * L * kv + L * kv, "%s/%s/%s B=%d kept %lld",
                                          mkv_selector_name(sel), mkv_layer_alloc_name(la), mkv_head_alloc_name(ha),
                                          budgets[b], (long long)total);
                        }
                        fixture_free(&f);
                    }
    }
}

/* The policy's own allocations are counted too (and freed). */
TEST(evict_policy_frees_everything) {
    size_t before = mkv_alloc_current_bytes();
    fixture f;
    fixture_init(&f, 3, 2, 2, 30, 36, false);
    mkv_evict_config c = config_of(MKV_SELECT_SNAPKV, MKV_LAYERS_BOUNDARY_ONLINE, MKV_HEADS_ADAKV, 6);
    c.window = 4;
    REQUIRE(fixture_create(&f, &c) == MKV_OK);
    int seed = 5;
    REQUIRE(run_pass(&f, votes_pseudo, &seed) == MKV_OK);
    check_store(&f);
    fixture_free(&f);
    CHECK_EQ_INT(mkv_alloc_current_bytes(), before);
}

/* Out of memory inside a pass is an error, not a crash. */
TEST(evict_out_of_memory_is_reported) {
    int failures = 0;
    for (long n = 1; n < 40; n++) {
        fixture f;
        fixture_init(&f, 2, 2, 2, 20, 24, false);
        mkv_evict_config c = config_of(MKV_SELECT_MASKVOTE, MKV_LAYERS_SQUEEZE, MKV_HEADS_PREFERENCE, 4);
        if (fixture_create(&f, &c) != MKV_OK) {
            fixture_free(&f);
            continue;
        }
        mkv_alloc_fail_after(n);
        int seed = 2;
        mkv_status st = run_pass(&f, votes_pseudo, &seed);
        mkv_alloc_fail_after(0);
        CHECK(st == MKV_OK || st == MKV_ERR_NOMEM);
        failures += st == MKV_ERR_NOMEM;
        fixture_free(&f);
    }
    CHECK(failures > 5);
}
