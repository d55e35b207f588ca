/* Eviction policies: selector x layer allocation x head allocation (SPEC §4-5).
 *
 * A selection pass (driven by the engine, see engine.c full_pass):
 *   prepare_pass   chooses the voting query rows and hooks the forward pass
 *   before_layer   gives layer l all its prompt rows (mkv_kv_layer_reset_full)
 *   after_attention scores the prompt keys of layer l from the vote sums;
 *                  OFFLINE layer budgets (uniform, pyramid, boundary): evicts
 *                  layer l right away, so that one layer's full prompt K/V
 *                  exists at a time (SPEC §4 "where the memory goes away");
 *                  ONLINE budgets (squeeze, boundary-online): keeps the scores
 *   finish_pass    online: the forward has measured every layer's importance,
 *                  so the layer budgets are known: evicts every layer.
 *
 * Choices where the SPEC is silent or differs from the paper:
 *  - "prompt keys" are the fixed rows 0..store->dyn_start-1 (Dream keeps its
 *    last prompt token among the always-recomputed dynamic rows).
 *  - Exactness (SPEC §4): when B >= the evictable prompt rows, every layer and
 *    head keeps everything whatever the allocation (boundary's middle layers
 *    would otherwise get less than B), so B >= n_prompt gives exactly the
 *    tokens of the full cache. The "full" selector always keeps everything.
 *  - Mask-Voting queries are the positions whose token is mask_id; when there
 *    is none (cannot happen while tokens are left to decode) the response
 *    positions vote. GQA: mean over the query heads of a KV group (SPEC §4).
 *  - SnapKV: the window is the last `window` prompt positions (up to
 *    n_prompt - 1, which for Dream is a dynamic row); window queries attend to
 *    ALL keys, prompt and response, with no causal mask (bidirectional model);
 *    the other prompt keys' scores are max-pooled (kernel, stride 1, same
 *    padding) over those keys only; the window keys are protected: a head
 *    budget k keeps the window plus the top k - |window| others, and when
 *    k <= |window| it keeps the top k of the window by (unpooled) score.
 *  - Prompt preference (Eq. 14) needs vote sums of mask queries: with the
 *    maskvote, streaming and random selectors the mask queries vote; with
 *    SnapKV the window queries are the only voters of the pass, so P_h is
 *    S(window->prompt) / (S(window->prompt) + S(window->mask keys)).
 *    P_h per query head, then mean over a KV group; N_h = n_kv_heads.
 *  - AdaKV ranks the heads' scores together with the same ranking as the
 *    top-k (protected window first); layer budget k_l, N_h = n_kv_heads.
 *  - PyramidKV reserves the window in its formula (B' = B - w) whatever the
 *    selector, so every selector keeps the same counts per layer.
 *  - All budgets are clamped to [1, evictable prompt rows]; what a clamp cuts
 *    is not given to other heads or layers (the paper does not).
 *  - Layer importance for the online allocations is the forward's
 *    observer.layer_importance over all positions of the selection pass. */
#include "cache/evict.h"

#include <math.h>
#include <string.h>

#include "cache/budgets.h"
#include "cache/cold_store.h"
#include "cache/selectors.h"
#include "util/alloc.h"

void mkv_evict_config_defaults(mkv_evict_config *c) {
    memset(c, 0, sizeof *c);
    c->selector = MKV_SELECT_MASKVOTE;
    c->layer_alloc = MKV_LAYERS_BOUNDARY;
    c->head_alloc = MKV_HEADS_PREFERENCE;
    c->budget = 256;
    c->alpha = 0.1;
    c->beta = 0.4;
    c->pyramid_beta = 20;
    c->adakv_safeguard = 0.2;
    c->squeeze_low_share = 0.4;
    c->window = 32;
    c->pool_kernel = 7;
    c->boundary_size = 1;
    c->sink_tokens = 4;
    c->seed = 0;
    c->layer_importance = NULL;
}

/* ------------------------------------------------------------------ names */

static const char *const selector_names[] = {"maskvote", "snapkv", "streaming", "random", "full"};
static const char *const layer_names[] = {"uniform", "pyramid", "squeeze", "boundary", "boundary-online"};
static const char *const head_names[] = {"uniform", "adakv", "preference"};
#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int index_of(const char *const *names, int n, const char *name) {
    for (int i = 0; name && i < n; i++)
        if (strcmp(names[i], name) == 0) return i;
    return -1;
}

const char *mkv_selector_name(mkv_selector s) { return (int)s >= 0 && (int)s < COUNT(selector_names) ? selector_names[s] : "?"; }
const char *mkv_layer_alloc_name(mkv_layer_alloc a) { return (int)a >= 0 && (int)a < COUNT(layer_names) ? layer_names[a] : "?"; }
const char *mkv_head_alloc_name(mkv_head_alloc a) { return (int)a >= 0 && (int)a < COUNT(head_names) ? head_names[a] : "?"; }

bool mkv_selector_from_name(const char *name, mkv_selector *out) {
    int i = index_of(selector_names, COUNT(selector_names), name);
    if (i >= 0) *out = (mkv_selector)i;
    return i >= 0;
}
bool mkv_layer_alloc_from_name(const char *name, mkv_layer_alloc *out) {
    int i = index_of(layer_names, COUNT(layer_names), name);
    if (i >= 0) *out = (mkv_layer_alloc)i;
    return i >= 0;
}
bool mkv_head_alloc_from_name(const char *name, mkv_head_alloc *out) {
    int i = index_of(head_names, COUNT(head_names), name);
    if (i >= 0) *out = (mkv_head_alloc)i;
    return i >= 0;
}

/* ----------------------------------------------------------------- policy */

struct mkv_evict_policy {
    mkv_evict_config config;
    double *profile_importance;   /* [n_layers] copy of the offline profile, or NULL */
    int n_layers, n_heads, n_kv_heads, n_prompt, n_total;

    /* the current pass */
    const int32_t *tokens;
    int32_t mask_id;
    uint8_t *vote_rows;           /* [n_total] */
    bool votes_on;                /* vote_rows handed to the forward */
    bool ready;                   /* pass_setup done for this pass */
    bool keep_all;
    int n_evictable;              /* store->dyn_start */
    int protect_from;             /* SnapKV window start among the evictable keys */

    double *measured_importance;  /* [n_layers], filled by the forward (online) */
    int *layer_budget;            /* [n_layers] */
    int *head_budget;             /* [n_layers][n_kv_heads] */
    double *preference;           /* [n_layers][n_kv_heads] P_h (Eq. 14) */
    int64_t *kept_per_layer;      /* [n_layers] */
    int *winners;                 /* [n_kv_heads] AdaKV */

    /* sized for n_evictable (reallocated if it changes) */
    int buffers_for;              /* n_evictable the buffers below hold, -1 none */
    float *scores;                /* offline [n_kv][n_ev]; online [n_layers][n_kv][n_ev] */
    float *pool_scratch;          /* [n_ev] */
    mkv_rank_entry *rank_scratch; /* [n_ev] or [n_kv * n_ev] (AdaKV) */
    int32_t *keep;                /* [n_ev] */
    mkv_cold_store *cold;         /* evicted rows go here when set (revote.h) */
};

static bool online_layers(const mkv_evict_config *c) {
    return c->layer_alloc == MKV_LAYERS_SQUEEZE || c->layer_alloc == MKV_LAYERS_BOUNDARY_ONLINE;
}

static bool unit_interval(double x) { return x >= 0 && x <= 1; }

static mkv_status validate(const mkv_evict_config *c, const mkv_hparams *hp) {
    if ((int)c->selector < 0 || (int)c->selector >= COUNT(selector_names))
        return mkv_fail(MKV_ERR_USAGE, "evict: unknown selector %d", (int)c->selector);
    if ((int)c->layer_alloc < 0 || (int)c->layer_alloc >= COUNT(layer_names))
        return mkv_fail(MKV_ERR_USAGE, "evict: unknown layer allocation %d", (int)c->layer_alloc);
    if ((int)c->head_alloc < 0 || (int)c->head_alloc >= COUNT(head_names))
        return mkv_fail(MKV_ERR_USAGE, "evict: unknown head allocation %d", (int)c->head_alloc);
    if (c->budget < 1) return mkv_fail(MKV_ERR_USAGE, "evict: the KV budget must be at least 1 (got %d)", c->budget);
    if (!unit_interval(c->alpha)) return mkv_fail(MKV_ERR_USAGE, "evict: alpha must be within [0, 1] (got %g)", c->alpha);
    if (!unit_interval(c->beta)) return mkv_fail(MKV_ERR_USAGE, "evict: beta must be within [0, 1] (got %g)", c->beta);
    if (!unit_interval(c->adakv_safeguard))
        return mkv_fail(MKV_ERR_USAGE, "evict: the AdaKV safeguard must be within [0, 1] (got %g)", c->adakv_safeguard);
    if (!unit_interval(c->squeeze_low_share))
        return mkv_fail(MKV_ERR_USAGE, "evict: the SqueezeAttention low share must be within [0, 1] (got %g)",
                        c->squeeze_low_share);
    if (!(c->pyramid_beta > 0) || !isfinite(c->pyramid_beta))
        return mkv_fail(MKV_ERR_USAGE, "evict: the PyramidKV beta must be a positive number (got %g)", c->pyramid_beta);
    if (c->window < 0 || (c->selector == MKV_SELECT_SNAPKV && c->window < 1))
        return mkv_fail(MKV_ERR_USAGE, "evict: the SnapKV window must be at least 1 (got %d)", c->window);
    if (c->pool_kernel < 1 || c->pool_kernel % 2 == 0)
        return mkv_fail(MKV_ERR_USAGE, "evict: the pooling kernel must be a positive odd number (got %d)", c->pool_kernel);
    if (c->boundary_size < 0)
        return mkv_fail(MKV_ERR_USAGE, "evict: the boundary size must be 0 or more (got %d)", c->boundary_size);
    if (c->sink_tokens < 0)
        return mkv_fail(MKV_ERR_USAGE, "evict: the number of sink tokens must be 0 or more (got %d)", c->sink_tokens);
    if (c->layer_alloc == MKV_LAYERS_BOUNDARY) {
        if (!c->layer_importance)
            return mkv_fail(MKV_ERR_USAGE,
                            "evict: the boundary layer allocation needs this model's calibration profile: run `maskkv "
                            "calibrate` to make one, or use boundary-online (importance measured on the request)");
        for (int l = 0; l < hp->n_layers; l++)
            if (!isfinite(c->layer_importance[l]))
                return mkv_fail(MKV_ERR_INPUT, "evict: the profile's importance of layer %d is not a finite number", l);
    }
    return MKV_OK;
}

mkv_status mkv_evict_policy_create(const mkv_evict_config *config, const mkv_hparams *hp, int n_prompt, int n_total,
                                   mkv_evict_policy **out) {
    *out = NULL;
    mkv_status st = validate(config, hp);
    if (st != MKV_OK) return st;
    if (hp->n_layers < 1 || hp->n_layers > MKV_BUDGETS_MAX_LAYERS)
        return mkv_fail(MKV_ERR_UNSUPPORTED, "evict: %d layers (at most %d supported)", hp->n_layers, MKV_BUDGETS_MAX_LAYERS);
    if (hp->n_kv_heads < 1 || hp->n_heads % hp->n_kv_heads != 0)
        return mkv_fail(MKV_ERR_UNSUPPORTED, "evict: %d query heads do not split into %d KV groups", hp->n_heads, hp->n_kv_heads);
    if (n_prompt < 1 || n_total <= n_prompt) return mkv_fail(MKV_ERR_INPUT, "evict: need a prompt and a response");
    mkv_evict_policy *p = mkv_calloc(1, sizeof *p, "eviction policy");
    if (!p) return mkv_last_status();
    p->config = *config;
    p->n_layers = hp->n_layers;
    p->n_heads = hp->n_heads;
    p->n_kv_heads = hp->n_kv_heads;
    p->n_prompt = n_prompt;
    p->n_total = n_total;
    p->buffers_for = -1;
    size_t L = (size_t)hp->n_layers, LH = L * (size_t)hp->n_kv_heads;
    p->vote_rows = mkv_calloc((size_t)n_total, 1, "mask-voting rows");
    p->measured_importance = mkv_calloc(L, sizeof(double), "layer importance");
    p->layer_budget = mkv_calloc(L, sizeof(int), "layer budgets");
    p->head_budget = mkv_calloc(LH, sizeof(int), "head budgets");
    p->preference = mkv_calloc(LH, sizeof(double), "prompt preference");
    p->kept_per_layer = mkv_calloc(L, sizeof(int64_t), "kept per layer");
    p->winners = mkv_calloc((size_t)hp->n_kv_heads, sizeof(int), "AdaKV winners");
    if (!p->vote_rows || !p->measured_importance || !p->layer_budget || !p->head_budget || !p->preference ||
        !p->kept_per_layer || !p->winners)
        goto nomem;
    if (config->layer_importance) {
        p->profile_importance = mkv_malloc(L * sizeof(double), "layer importance profile");
        if (!p->profile_importance) goto nomem;
        memcpy(p->profile_importance, config->layer_importance, L * sizeof(double));
    }
    p->config.layer_importance = p->profile_importance;
    *out = p;
    return MKV_OK;
nomem:
    st = mkv_last_status() ? mkv_last_status() : MKV_ERR_NOMEM;
    mkv_evict_policy_free(p);
    return st;
}

static void free_pass_buffers(mkv_evict_policy *p) {
    mkv_free(p->scores);
    mkv_free(p->pool_scratch);
    mkv_free(p->rank_scratch);
    mkv_free(p->keep);
    p->scores = p->pool_scratch = NULL;
    p->rank_scratch = NULL;
    p->keep = NULL;
    p->buffers_for = -1;
}

void mkv_evict_policy_free(mkv_evict_policy *p) {
    if (!p) return;
    free_pass_buffers(p);
    mkv_free(p->profile_importance);
    mkv_free(p->vote_rows);
    mkv_free(p->measured_importance);
    mkv_free(p->layer_budget);
    mkv_free(p->head_budget);
    mkv_free(p->preference);
    mkv_free(p->kept_per_layer);
    mkv_free(p->winners);
    mkv_free(p);
}

const int64_t *mkv_evict_kept_per_layer(const mkv_evict_policy *p) { return p->kept_per_layer; }
const int *mkv_evict_layer_budgets(const mkv_evict_policy *p) { return p->layer_budget; }
const int *mkv_evict_head_budgets(const mkv_evict_policy *p) { return p->head_budget; }

/* ------------------------------------------------------------ pass hooks */

static mkv_status before_layer(void *ctx, int layer, mkv_kv_store *store);
static mkv_status after_attention(void *ctx, int layer, mkv_kv_store *store, float *const *vote_sums);

mkv_status mkv_evict_prepare_pass(mkv_evict_policy *p, const int32_t *tokens, int32_t mask_id,
                                  mkv_forward_observer *observer) {
    const mkv_evict_config *c = &p->config;
    p->tokens = tokens;
    p->mask_id = mask_id;
    p->ready = false;
    memset(p->kept_per_layer, 0, (size_t)p->n_layers * sizeof(int64_t));
    /* Votes are needed unless everything is kept anyway (B >= n_prompt). */
    bool scores_from_votes = c->selector == MKV_SELECT_MASKVOTE || c->selector == MKV_SELECT_SNAPKV;
    p->votes_on = c->selector != MKV_SELECT_FULL && c->budget < p->n_prompt &&
                  (scores_from_votes || c->head_alloc == MKV_HEADS_PREFERENCE);
    memset(p->vote_rows, 0, (size_t)p->n_total);
    if (c->selector == MKV_SELECT_SNAPKV) {
        int from = p->n_prompt - c->window < 0 ? 0 : p->n_prompt - c->window;
        for (int i = from; i < p->n_prompt; i++) p->vote_rows[i] = 1;
    } else {
        int n_mask = 0;
        for (int i = 0; i < p->n_total; i++) n_mask += (p->vote_rows[i] = tokens[i] == mask_id);
        if (n_mask == 0)
            for (int i = p->n_prompt; i < p->n_total; i++) p->vote_rows[i] = 1;
    }
    observer->vote_rows = p->votes_on ? p->vote_rows : NULL;
    observer->before_layer = before_layer;
    observer->after_attention = after_attention;
    observer->ctx = p;
    if (online_layers(c)) {
        for (int l = 0; l < p->n_layers; l++) p->measured_importance[l] = NAN;
        observer->layer_importance = p->measured_importance;
    }
    return MKV_OK;
}

/* Offline layer budgets (or "everything") once the evictable rows are known. */
static mkv_status pass_setup(mkv_evict_policy *p, const mkv_kv_store *store) {
    const mkv_evict_config *c = &p->config;
    if (store->n_layers != p->n_layers || store->n_kv_heads != p->n_kv_heads)
        return mkv_fail(MKV_ERR_INPUT, "evict: the KV store has %d layers x %d KV heads, the model %d x %d",
                        store->n_layers, store->n_kv_heads, p->n_layers, p->n_kv_heads);
    int n_ev = store->dyn_start;
    if (n_ev < 0 || n_ev > p->n_prompt)
        return mkv_fail(MKV_ERR_INPUT, "evict: the KV store holds %d prompt rows for a %d-token prompt", n_ev, p->n_prompt);
    p->n_evictable = n_ev;
    p->keep_all = c->selector == MKV_SELECT_FULL || c->budget >= n_ev;
    if (!p->keep_all && !p->votes_on && (c->selector == MKV_SELECT_MASKVOTE || c->selector == MKV_SELECT_SNAPKV ||
                                         c->head_alloc == MKV_HEADS_PREFERENCE))
        return mkv_fail(MKV_ERR_INPUT, "evict: pass not prepared with vote rows");
    p->protect_from = n_ev;
    if (c->selector == MKV_SELECT_SNAPKV) {
        int from = p->n_prompt - c->window;
        p->protect_from = from < 0 ? 0 : (from > n_ev ? n_ev : from);
    }
    if (p->buffers_for != n_ev && !p->keep_all) {
        free_pass_buffers(p);
        size_t n = (size_t)n_ev, heads = (size_t)p->n_kv_heads;
        size_t score_floats = heads * n * (online_layers(c) ? (size_t)p->n_layers : 1);
        size_t ranks = c->head_alloc == MKV_HEADS_ADAKV ? heads * n : n;
        p->scores = mkv_malloc(score_floats * sizeof(float), "eviction scores");
        p->pool_scratch = mkv_malloc(n * sizeof(float), "eviction pooling");
        p->rank_scratch = mkv_malloc(ranks * sizeof(mkv_rank_entry), "eviction ranking");
        p->keep = mkv_malloc(n * sizeof(int32_t), "kept positions");
        if (!p->scores || !p->pool_scratch || !p->rank_scratch || !p->keep) {
            free_pass_buffers(p);
            return mkv_last_status() ? mkv_last_status() : MKV_ERR_NOMEM;
        }
        p->buffers_for = n_ev;
    }
    int L = p->n_layers, H = p->n_kv_heads;
    if (p->keep_all) {
        mkv_layers_uniform(n_ev, L, p->layer_budget);
        for (int i = 0; i < L * H; i++) p->head_budget[i] = n_ev;
    } else if (!online_layers(c)) {
        switch (c->layer_alloc) {
        case MKV_LAYERS_PYRAMID:
            mkv_layers_pyramid(c->budget, c->window, c->pyramid_beta, L, n_ev, p->layer_budget);
            break;
        case MKV_LAYERS_BOUNDARY:
            mkv_layers_boundary(c->budget, p->profile_importance, L, c->boundary_size, c->beta, p->layer_budget);
            break;
        default:
            mkv_layers_uniform(c->budget, L, p->layer_budget);
            break;
        }
        mkv_budgets_clamp(p->layer_budget, L, 1, n_ev);
    }
    p->ready = true;
    return MKV_OK;
}

static bool layer_is_full(const mkv_kv_store *store, int layer) {
    for (int h = 0; h < store->n_kv_heads; h++) {
        const mkv_kv_head *head = &store->layers[layer].heads[h];
        if (!head->k || head->n_fixed != store->dyn_start) return false;
    }
    return true;
}

static void count_kept(mkv_evict_policy *p, const mkv_kv_store *store, int layer) {
    int64_t kept = 0;
    for (int h = 0; h < store->n_kv_heads; h++) kept += store->layers[layer].heads[h].n_fixed;
    p->kept_per_layer[layer] = kept;
}

/* Token scores of one layer: scores[h][j] for KV head h, prompt key j. */
static void layer_scores(mkv_evict_policy *p, int layer, float *const *vote_sums, float *scores) {
    const mkv_evict_config *c = &p->config;
    int n = p->n_evictable, H = p->n_kv_heads;
    switch (c->selector) {
    case MKV_SELECT_MASKVOTE: /* Eq. 7, GQA mean */
        mkv_votes_per_kv_head(vote_sums, p->n_heads, H, n, scores);
        break;
    case MKV_SELECT_SNAPKV:
        mkv_votes_per_kv_head(vote_sums, p->n_heads, H, n, scores);
        for (int h = 0; h < H; h++) {
            float *row = scores + (size_t)h * n;
            mkv_maxpool_1d(row, p->protect_from, c->pool_kernel, p->pool_scratch);
            memcpy(row, p->pool_scratch, (size_t)p->protect_from * sizeof(float));
        }
        break;
    case MKV_SELECT_STREAMING:
        for (int h = 0; h < H; h++) mkv_streaming_scores(n, c->sink_tokens, scores + (size_t)h * n);
        break;
    case MKV_SELECT_RANDOM:
        for (int h = 0; h < H; h++) mkv_random_scores(c->seed, layer, h, n, scores + (size_t)h * n);
        break;
    case MKV_SELECT_FULL:
        break;
    }
}

/* Eq. 14: P_h = S(mask->prompt) / (S(mask->prompt) + S(mask->mask)) per query
 * head, mean over the query heads of a KV group. Rows: prompt keys 0..n-1,
 * then dynamic rows (position dyn_start + i at row n + i). */
static void layer_preference(mkv_evict_policy *p, const mkv_kv_store *store, int layer, float *const *vote_sums) {
    int n = p->n_evictable, group = p->n_heads / p->n_kv_heads;
    double *pref = p->preference + (size_t)layer * p->n_kv_heads;
    for (int g = 0; g < p->n_kv_heads; g++) {
        double sum = 0;
        for (int h = g * group; h < (g + 1) * group; h++) {
            double to_prompt = 0, to_mask = 0;
            for (int j = 0; j < n; j++) to_prompt += vote_sums[h][j];
            for (int i = 0; i < store->n_dyn; i++)
                if (p->tokens[store->dyn_start + i] == p->mask_id) to_mask += vote_sums[h][n + i];
            sum += to_prompt + to_mask > 0 ? to_prompt / (to_prompt + to_mask) : 0;
        }
        pref[g] = sum / group;
    }
}

/* Head budgets of one layer from its layer budget, then keep the top-k. */
static mkv_status evict_layer(mkv_evict_policy *p, mkv_kv_store *store, int layer, const float *scores) {
    const mkv_evict_config *c = &p->config;
    int n = p->n_evictable, H = p->n_kv_heads, k_l = p->layer_budget[layer];
    int *budget = p->head_budget + (size_t)layer * H;
    switch (c->head_alloc) {
    case MKV_HEADS_PREFERENCE:
        mkv_heads_preference(k_l, p->preference + (size_t)layer * H, H, c->alpha, budget);
        break;
    case MKV_HEADS_ADAKV:
        mkv_adakv_winners(scores, H, n, p->protect_from, (long)H * k_l, p->rank_scratch, p->winners);
        mkv_heads_adakv(k_l, p->winners, H, c->adakv_safeguard, budget);
        break;
    default:
        mkv_heads_uniform(k_l, H, budget);
        break;
    }
    mkv_budgets_clamp(budget, H, 1, n);
    for (int h = 0; h < H; h++) {
        int n_keep = mkv_select_top(scores + (size_t)h * n, n, p->protect_from, budget[h], p->rank_scratch, p->keep);
        const mkv_kv_head *full = &store->layers[layer].heads[h];
        mkv_status st = p->cold ? mkv_cold_capture(p->cold, layer, h, full->k, full->v, n, p->keep, n_keep) : MKV_OK;
        if (st == MKV_OK) st = mkv_kv_head_keep(store, layer, h, p->keep, n_keep);
        if (st != MKV_OK) return st;
    }
    count_kept(p, store, layer);
    return MKV_OK;
}

static mkv_status before_layer(void *ctx, int layer, mkv_kv_store *store) {
    mkv_evict_policy *p = ctx;
    if (!p->ready) {
        mkv_status st = pass_setup(p, store);
        if (st != MKV_OK) return st;
    }
    return mkv_kv_layer_reset_full(store, layer);
}

static mkv_status after_attention(void *ctx, int layer, mkv_kv_store *store, float *const *vote_sums) {
    mkv_evict_policy *p = ctx;
    if (!p->ready) {
        mkv_status st = pass_setup(p, store);
        if (st != MKV_OK) return st;
    }
    if (layer < 0 || layer >= p->n_layers) return mkv_fail(MKV_ERR_INPUT, "evict: layer %d out of range", layer);
    if (p->keep_all) {
        count_kept(p, store, layer);
        return MKV_OK;
    }
    if (!layer_is_full(store, layer))
        return mkv_fail(MKV_ERR_INPUT, "evict: layer %d does not hold all its prompt rows when scored", layer);
    bool online = online_layers(&p->config);
    size_t layer_floats = (size_t)p->n_kv_heads * p->n_evictable;
    float *scores = p->scores + (online ? (size_t)layer * layer_floats : 0);
    layer_scores(p, layer, vote_sums, scores);
    if (p->config.head_alloc == MKV_HEADS_PREFERENCE) layer_preference(p, store, layer, vote_sums);
    if (online) return MKV_OK;
    return evict_layer(p, store, layer, scores);
}

void mkv_evict_policy_set_cold(mkv_evict_policy *p, mkv_cold_store *cold) { p->cold = cold; }

mkv_status mkv_evict_finish_pass(mkv_evict_policy *p, mkv_kv_store *store) {
    if (!p->ready) {
        mkv_status st = pass_setup(p, store);
        if (st != MKV_OK) return st;
    }
    const mkv_evict_config *c = &p->config;
    if (!p->keep_all && online_layers(c)) {
        int L = p->n_layers;
        for (int l = 0; l < L; l++) {
            if (!layer_is_full(store, l))
                return mkv_fail(MKV_ERR_INPUT, "evict: layer %d was not scored in this pass", l);
            if (!isfinite(p->measured_importance[l])) p->measured_importance[l] = 0;
        }
        if (c->layer_alloc == MKV_LAYERS_SQUEEZE)
            mkv_layers_squeeze(c->budget, p->measured_importance, L, c->squeeze_low_share, p->layer_budget);
        else
            mkv_layers_boundary(c->budget, p->measured_importance, L, c->boundary_size, c->beta, p->layer_budget);
        mkv_budgets_clamp(p->layer_budget, L, 1, p->n_evictable);
        size_t layer_floats = (size_t)p->n_kv_heads * p->n_evictable;
        for (int l = 0; l < L; l++) {
            mkv_status st = evict_layer(p, store, l, p->scores + (size_t)l * layer_floats);
            if (st != MKV_OK) return st;
        }
    }
    for (int l = 0; l < p->n_layers; l++)
        if (mkv_kv_layer_allocated(store, l)) count_kept(p, store, l);
    p->ready = false;
    return MKV_OK;
}
