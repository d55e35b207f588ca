#include "cache/selectors.h"

#include <math.h>
#include <stdlib.h>

void mkv_votes_per_kv_head(float *const *vote_sums, int n_heads, int n_kv_heads, int n_keys, float *scores) {
    int group = n_heads / n_kv_heads;
    for (int g = 0; g < n_kv_heads; g++) {
        float *out = scores + (size_t)g * n_keys;
        if (group == 1) {
            for (int j = 0; j < n_keys; j++) out[j] = vote_sums[g][j];
            continue;
        }
        for (int j = 0; j < n_keys; j++) {
            double sum = 0;
            for (int h = g * group; h < (g + 1) * group; h++) sum += vote_sums[h][j];
            out[j] = (float)(sum / group);
        }
    }
}

void mkv_maxpool_1d(const float *in, int n, int kernel, float *out) {
    int radius = kernel / 2;
    for (int j = 0; j < n; j++) {
        int from = j - radius < 0 ? 0 : j - radius, to = j + radius >= n ? n - 1 : j + radius;
        float best = in[from];
        for (int i = from + 1; i <= to; i++)
            if (in[i] > best || isnan(best)) best = in[i];
        out[j] = best;
    }
}

void mkv_streaming_scores(int n, int sinks, float *scores) {
    for (int j = 0; j < n; j++) scores[j] = j < sinks ? (float)(2 * (double)n - j) : (float)j;
}

static uint64_t splitmix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

void mkv_random_scores(uint64_t seed, int layer, int head, int n, float *scores) {
    uint64_t base = splitmix64(splitmix64(seed) ^ ((uint64_t)(uint32_t)layer << 32 | (uint32_t)head));
    for (int j = 0; j < n; j++) scores[j] = (float)(splitmix64(base ^ (uint64_t)j) >> 40) * (1.0f / 16777216.0f);
}

/* ---------------------------------------------------------------- ranking */

static int ranks_before(const mkv_rank_entry *a, const mkv_rank_entry *b) {
    if (a->protected_rank != b->protected_rank) return a->protected_rank > b->protected_rank ? -1 : 1;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    if (a->position != b->position) return a->position < b->position ? -1 : 1;
    if (a->head != b->head) return a->head < b->head ? -1 : 1;
    return 0;
}

static int compare_rank(const void *a, const void *b) { return ranks_before(a, b); }

static int compare_int32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static void swap_entries(mkv_rank_entry *a, mkv_rank_entry *b) {
    mkv_rank_entry t = *a;
    *a = *b;
    *b = t;
}

/* Moves the first k entries of the ranking to a[0..k) (in no order), in
 * expected O(n): quickselect with a median-of-three pivot. The ranking is a
 * strict total order (positions differ within a head, heads differ across),
 * so the set is exactly the first k of a full sort. Past 2 log2(n) + 8 rounds
 * (an unlucky input) the rest is sorted instead. */
static void select_first(mkv_rank_entry *a, long n, long k) {
    long lo = 0, hi = n - 1, rounds = 8;
    for (long m = n; m > 1; m >>= 1) rounds += 2;
    while (hi > lo && k > lo && k <= hi) {
        if (rounds-- == 0) {
            qsort(a + lo, (size_t)(hi - lo + 1), sizeof *a, compare_rank);
            return;
        }
        long mid = lo + (hi - lo) / 2;
        if (ranks_before(&a[mid], &a[lo]) < 0) swap_entries(&a[mid], &a[lo]);
        if (ranks_before(&a[hi], &a[lo]) < 0) swap_entries(&a[hi], &a[lo]);
        if (ranks_before(&a[hi], &a[mid]) < 0) swap_entries(&a[hi], &a[mid]);
        const mkv_rank_entry pivot = a[mid];
        long i = lo, j = hi;
        while (i <= j) {
            while (ranks_before(&a[i], &pivot) < 0) i++;
            while (ranks_before(&pivot, &a[j]) < 0) j--;
            if (i <= j) swap_entries(&a[i++], &a[j--]);
        }
        /* a[lo..j] rank before a[i..hi]; any entry between is the pivot */
        if (k <= j + 1) hi = j;
        else if (k >= i) lo = i;
        else return;
    }
}

static void fill_entries(const float *scores, int n, int head, int protect_from, mkv_rank_entry *out) {
    for (int j = 0; j < n; j++) {
        float s = scores[j];
        out[j] = (mkv_rank_entry){isnan(s) ? -INFINITY : s, j, head, j >= protect_from};
    }
}

int mkv_select_top(const float *scores, int n, int protect_from, int k, mkv_rank_entry *scratch, int32_t *keep) {
    if (k > n) k = n;
    if (k <= 0) return 0;
    if (k == n) {
        for (int j = 0; j < n; j++) keep[j] = j;
        return n;
    }
    fill_entries(scores, n, 0, protect_from, scratch);
    select_first(scratch, n, k);
    for (int i = 0; i < k; i++) keep[i] = scratch[i].position;
    qsort(keep, (size_t)k, sizeof *keep, compare_int32);
    return k;
}

void mkv_adakv_winners(const float *scores, int n_heads, int n, int protect_from, long total, mkv_rank_entry *scratch,
                       int *winners) {
    long entries = (long)n_heads * n;
    if (total > entries) total = entries;
    for (int h = 0; h < n_heads; h++) {
        winners[h] = 0;
        fill_entries(scores + (size_t)h * n, n, h, protect_from, scratch + (size_t)h * n);
    }
    if (total <= 0) return;
    select_first(scratch, entries, total);
    for (long i = 0; i < total; i++) winners[scratch[i].head]++;
}
