#include "generate/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

void mkv_llada_transfer_schedule(int n_mask, int steps, int *per_step) {
    int base = n_mask / steps, remainder = n_mask % steps;
    for (int i = 0; i < steps; i++) per_step[i] = base + (i < remainder ? 1 : 0);
}

static bool is_forbidden(int32_t id, const int32_t *forbidden, int n_forbidden) {
    for (int i = 0; i < n_forbidden; i++)
        if (forbidden[i] == id) return true;
    return false;
}

/* softmax(logits)[index] in double, like torch's float64 softmax. */
static double softmax_at(const float *logits, int n_vocab, int index) {
    double max = -INFINITY;
    for (int v = 0; v < n_vocab; v++) max = fmax(max, (double)logits[v]);
    double sum = 0;
    for (int v = 0; v < n_vocab; v++) sum += exp((double)logits[v] - max);
    return exp((double)logits[index] - max) / sum;
}

void mkv_llada_choose(const float *logits, int n, int n_vocab, double temperature, mkv_remasking remasking,
                      const int32_t *forbidden, int n_forbidden, mkv_rng *rng, int32_t *x0, double *confidence) {
    for (int i = 0; i < n; i++) {
        const float *row = logits + (size_t)i * n_vocab;
        int best = -1;
        double best_score = -INFINITY;
        for (int v = 0; v < n_vocab; v++) {
            double score;
            if (temperature > 0) {
                /* generate.py add_gumbel_noise: exp(logits) / (-log u)^T, in float64;
                 * compared in log space: logit - T * log(-log u). */
                double u = mkv_rng_uniform(rng);
                score = (double)row[v] - temperature * log(-log(u));
            } else {
                score = row[v];
            }
            if (n_forbidden && is_forbidden(v, forbidden, n_forbidden)) continue;
            if (best < 0 || score > best_score) {
                best_score = score;
                best = v;
            }
        }
        x0[i] = best;
        confidence[i] = remasking == MKV_REMASK_RANDOM ? mkv_rng_uniform(rng) : softmax_at(row, n_vocab, best);
    }
}

typedef struct {
    float value;
    int index;
} scored_token;

static int by_value_desc(const void *a, const void *b) {
    const scored_token *x = a, *y = b;
    if (x->value != y->value) return x->value < y->value ? 1 : -1;
    return x->index - y->index;
}

void mkv_dream_choose(const float *logits, int n, int n_vocab, double temperature, double top_p, int top_k,
                      mkv_dream_alg alg, const int32_t *forbidden, int n_forbidden, mkv_rng *rng, int32_t *x0,
                      double *confidence) {
    float *row = mkv_malloc((size_t)n_vocab * sizeof(float), "sampler logits");
    double *probs = mkv_malloc((size_t)n_vocab * sizeof(double), "sampler probabilities");
    scored_token *sorted = (top_p < 1.0 || top_k > 0) ? mkv_malloc((size_t)n_vocab * sizeof *sorted, "sampler sort") : NULL;
    if (!row || !probs || ((top_p < 1.0 || top_k > 0) && !sorted)) {
        /* fall back to greedy without allocation: argmax only */
        for (int i = 0; i < n; i++) {
            const float *r = logits + (size_t)i * n_vocab;
            int best = 0;
            for (int v = 1; v < n_vocab; v++)
                if (r[v] > r[best]) best = v;
            x0[i] = best;
            confidence[i] = softmax_at(r, n_vocab, best);
        }
        mkv_free(row);
        mkv_free(probs);
        mkv_free(sorted);
        return;
    }
    for (int i = 0; i < n; i++) {
        memcpy(row, logits + (size_t)i * n_vocab, (size_t)n_vocab * sizeof(float));
        for (int f = 0; f < n_forbidden; f++)
            if (forbidden[f] >= 0 && forbidden[f] < n_vocab) row[forbidden[f]] = -INFINITY;
        if (temperature > 0)
            for (int v = 0; v < n_vocab; v++) row[v] = (float)(row[v] / temperature);
        if (sorted) {
            for (int v = 0; v < n_vocab; v++) sorted[v] = (scored_token){row[v], v};
            qsort(sorted, (size_t)n_vocab, sizeof *sorted, by_value_desc);
            if (top_p < 1.0) {
                /* top_p_logits: remove tokens whose cumulative probability (sorted
                 * descending) exceeds top_p, always keeping the first. */
                double max = sorted[0].value, sum = 0;
                for (int v = 0; v < n_vocab; v++) sum += exp((double)sorted[v].value - max);
                double cumulative = 0;
                for (int v = 0; v < n_vocab; v++) {
                    double p = exp((double)sorted[v].value - max) / sum;
                    bool remove = cumulative + p > top_p && v > 0;
                    cumulative += p;
                    if (remove) row[sorted[v].index] = -INFINITY;
                }
            }
            if (top_k > 0 && top_k < n_vocab) {
                float kth = sorted[top_k - 1].value;
                for (int v = 0; v < n_vocab; v++)
                    if (row[v] < kth) row[v] = -INFINITY;
            }
        }
        double max = -INFINITY, sum = 0;
        for (int v = 0; v < n_vocab; v++) max = fmax(max, (double)row[v]);
        for (int v = 0; v < n_vocab; v++) sum += (probs[v] = exp((double)row[v] - max));
        for (int v = 0; v < n_vocab; v++) probs[v] /= sum;
        int chosen = 0;
        if (temperature > 0) {
            double u = mkv_rng_uniform(rng), acc = 0;
            chosen = n_vocab - 1;
            for (int v = 0; v < n_vocab; v++) {
                acc += probs[v];
                if (u < acc) {
                    chosen = v;
                    break;
                }
            }
            while (probs[chosen] == 0 && chosen > 0) chosen--;
        } else {
            for (int v = 1; v < n_vocab; v++)
                if (probs[v] > probs[chosen]) chosen = v;
        }
        x0[i] = chosen;
        double conf = probs[chosen];
        if (alg == MKV_DREAM_TOPK_MARGIN) {
            double p1 = -1, p2 = -1;
            for (int v = 0; v < n_vocab; v++) {
                if (probs[v] > p1) {
                    p2 = p1;
                    p1 = probs[v];
                } else if (probs[v] > p2) {
                    p2 = probs[v];
                }
            }
            conf = p1 - p2;
        } else if (alg == MKV_DREAM_ENTROPY) {
            double neg_entropy = 0;
            for (int v = 0; v < n_vocab; v++) neg_entropy += probs[v] * log(probs[v] + 1e-10);
            conf = neg_entropy;
        }
        confidence[i] = conf;
    }
    mkv_free(row);
    mkv_free(probs);
    mkv_free(sorted);
}

void mkv_dream_timesteps(int steps, float eps, float *t) {
    /* torch's CPU linspace: step = (end - start) / (n - 1); the first half
     * counts up from start, the second half down from end. */
    int n = steps + 1;
    float start = 1.0f, end = eps;
    if (n == 1) {
        t[0] = start;
        return;
    }
    float step = (end - start) / (float)(n - 1);
    int halfway = n / 2;
    for (int i = 0; i < n; i++) t[i] = i < halfway ? start + step * (float)i : end - step * (float)(n - i - 1);
}

int mkv_dream_transfer_count(int n_mask, int step, int steps, const float *timesteps) {
    if (step >= steps - 1) return n_mask;
    float t = timesteps[step], s = timesteps[step + 1];
    float ratio = 1.0f - s / t;
    return (int)((float)n_mask * ratio);
}

void mkv_top_k_indices(const double *score, int n, int k, int *out) {
    /* selection by repeated max: k is small (tokens per step) */
    int filled = 0;
    while (filled < k) {
        int best = -1;
        for (int i = 0; i < n; i++) {
            bool taken = false;
            for (int j = 0; j < filled; j++)
                if (out[j] == i) taken = true;
            if (taken) continue;
            if (best < 0 || score[i] > score[best]) best = i;
        }
        if (best < 0) break;
        out[filled++] = best;
    }
}
