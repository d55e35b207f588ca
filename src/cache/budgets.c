#include "cache/budgets.h"

#include <math.h>
#include <stdbool.h>

/* floor that keeps integers computed in floating point (see budgets.h). */
static long floor_tol(double x) {
    double f = floor(x + 1e-9);
    if (!(f > -1e15)) return f != f ? 0 : -1000000000000000L; /* NaN -> 0; never an out-of-range cast */
    if (f > 1e15) return 1000000000000000L;
    return (long)f;
}

/* Python's // on integers (PyramidKV's code). */
static long floor_div(long a, long b) {
    long q = a / b, r = a % b;
    return (r != 0 && ((r < 0) != (b < 0))) ? q - 1 : q;
}

void mkv_layers_uniform(int budget, int n_layers, int *layer_budget) {
    for (int l = 0; l < n_layers; l++) layer_budget[l] = budget;
}

void mkv_layers_pyramid(int budget, int window, double beta_p, int n_layers, int n_evictable, int *layer_budget) {
    if (n_layers <= 1) {
        mkv_layers_uniform(budget, n_layers, layer_budget);
        return;
    }
    long w = budget > window ? window : 0;
    long reduced = budget - w;                      /* B' */
    long min_num = (long)floor((double)reduced / beta_p);
    long max_num = 2 * reduced - min_num;
    if (n_evictable - w > 0 && max_num >= n_evictable - w) {
        /* the prompt is short: the first layer keeps everything, the slope
         * flattens so that the total stays the same (as pyramidkv_utils.py) */
        max_num = n_evictable - w;
        min_num = 2 * reduced - max_num;
    }
    long steps = floor_div(max_num - min_num, n_layers - 1);
    for (int l = 0; l < n_layers; l++) layer_budget[l] = (int)(max_num - l * steps + w);
}

/* ------------------------------------------------------------ k-means 1-D */

/* Within-group sum of squares of sorted[from..to). */
static double group_cost(const double *sorted, int from, int to) {
    double mean = 0;
    for (int i = from; i < to; i++) mean += sorted[i];
    mean /= (to - from);
    double sse = 0;
    for (int i = from; i < to; i++) sse += (sorted[i] - mean) * (sorted[i] - mean);
    return sse;
}

#define KMEANS_MAX_K 8

int mkv_kmeans_1d(const double *values, int n, int k, int *group) {
    if (n <= 0) return 0;
    if (n > MKV_BUDGETS_MAX_LAYERS) n = MKV_BUDGETS_MAX_LAYERS; /* layers: far below */
    if (k > KMEANS_MAX_K) k = KMEANS_MAX_K;
    if (k < 1) k = 1;
    /* indices sorted by value, then index (insertion sort: n is a layer count) */
    int order[MKV_BUDGETS_MAX_LAYERS];
    double sorted[MKV_BUDGETS_MAX_LAYERS];
    for (int i = 0; i < n; i++) {
        int j = i;
        while (j > 0 && values[order[j - 1]] > values[i]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    int distinct = 0;
    for (int i = 0; i < n; i++) {
        sorted[i] = values[order[i]];
        if (i == 0 || sorted[i] != sorted[i - 1]) distinct++;
    }
    if (k > distinct) k = distinct;
    /* cost[c][j]: best cost of the first j sorted values in c+1 groups;
     * a group may only start where the value changes (ties stay together). */
    static _Thread_local double cost[KMEANS_MAX_K][MKV_BUDGETS_MAX_LAYERS + 1];
    static _Thread_local int start[KMEANS_MAX_K][MKV_BUDGETS_MAX_LAYERS + 1];
    for (int j = 1; j <= n; j++) {
        cost[0][j] = group_cost(sorted, 0, j);
        start[0][j] = 0;
    }
    for (int c = 1; c < k; c++) {
        for (int j = 1; j <= n; j++) {
            cost[c][j] = INFINITY;
            start[c][j] = -1;
            for (int i = c; i < j; i++) {
                if (!(sorted[i - 1] < sorted[i]) || !isfinite(cost[c - 1][i])) continue;
                double total = cost[c - 1][i] + group_cost(sorted, i, j);
                if (total < cost[c][j]) {
                    cost[c][j] = total;
                    start[c][j] = i;
                }
            }
        }
    }
    /* walk the group starts back from the end */
    int end = n;
    for (int c = k - 1; c >= 0; c--) {
        int from = start[c][end];
        for (int i = from; i < end; i++) group[order[i]] = c;
        end = from;
    }
    return k;
}

void mkv_layers_squeeze(int budget, const double *importance, int n_layers, double low_share, int *layer_budget) {
    if (n_layers < 2 || n_layers > MKV_BUDGETS_MAX_LAYERS) {
        mkv_layers_uniform(budget, n_layers, layer_budget);
        return;
    }
    int group[MKV_BUDGETS_MAX_LAYERS];
    double finite[MKV_BUDGETS_MAX_LAYERS] = {0};
    double largest = 0; /* k-means is scale-free: scaled so that no sum of squares overflows */
    for (int l = 0; l < n_layers; l++)
        if (isfinite(importance[l]) && fabs(importance[l]) > largest) largest = fabs(importance[l]);
    for (int l = 0; l < n_layers; l++) finite[l] = isfinite(importance[l]) && largest > 0 ? importance[l] / largest : 0;
    int n_groups = mkv_kmeans_1d(finite, n_layers, 3, group);
    if (n_groups <= 1) {
        mkv_layers_uniform(budget, n_layers, layer_budget);
        return;
    }
    long low = floor_tol(low_share * budget);
    int n_low = 0;
    for (int l = 0; l < n_layers; l++) n_low += group[l] == 0;
    int n_high = n_layers - n_low;
    long rest = (long)budget * n_layers - (long)n_low * low;
    long each = rest / n_high, extra = rest % n_high;
    for (int l = 0; l < n_layers; l++) {
        if (group[l] == 0) {
            layer_budget[l] = (int)low;
        } else {
            layer_budget[l] = (int)(each + (extra > 0 ? 1 : 0));
            if (extra > 0) extra--;
        }
    }
}

/* -------------------------------------------------------------- boundary */

void mkv_layers_boundary(int budget, const double *importance, int n_layers, int boundary_size, double beta,
                         int *layer_budget) {
    if (n_layers <= 0 || n_layers > MKV_BUDGETS_MAX_LAYERS) return;
    double k_p = (double)budget * n_layers;
    double k_base = beta * k_p / n_layers;                     /* Eq. 9  */
    double k_imp = k_p - n_layers * k_base;                    /* Eq. 10 */
    /* Only ratios of importances matter: scaled by the largest first, so
     * that no finite input overflows the sums (NaN and negatives count 0). */
    double largest = 0;
    for (int l = 0; l < n_layers; l++)
        if (importance[l] > largest && isfinite(importance[l])) largest = importance[l];
    double imp_b = 0, imp_m = 0;
    int n_b = 0, n_m = 0;
    for (int l = 0; l < n_layers; l++) {
        bool boundary = l < boundary_size || l >= n_layers - boundary_size;
        double imp = importance[l] > 0 && largest > 0 ? (isfinite(importance[l]) ? importance[l] / largest : 1) : 0;
        if (boundary) {
            imp_b += imp;
            n_b++;
        } else {
            imp_m += imp;
            n_m++;
        }
    }
    double group_b;                                            /* Eq. 11-12 */
    if (n_m == 0) group_b = k_imp;
    else if (n_b == 0) group_b = 0;
    else if (imp_b + imp_m > 0) group_b = k_imp * imp_b / (imp_b + imp_m);
    else group_b = k_imp * n_b / n_layers;
    double group_m = k_imp - group_b;
    /* Eq. 13, then integers that sum to exactly k_p (largest remainders) */
    long assigned = 0;
    double frac[MKV_BUDGETS_MAX_LAYERS];
    for (int l = 0; l < n_layers; l++) {
        bool boundary = l < boundary_size || l >= n_layers - boundary_size;
        double k_l = k_base + (boundary ? group_b / n_b : group_m / n_m);
        long whole = floor_tol(k_l);
        layer_budget[l] = (int)whole;
        frac[l] = k_l - (double)whole;
        assigned += whole;
    }
    long missing = (long)budget * n_layers - assigned;
    while (missing > 0) {
        int best = 0;
        for (int l = 1; l < n_layers; l++)
            if (frac[l] > frac[best] + 1e-12) best = l;
        layer_budget[best]++;
        frac[best] = -1;
        missing--;
    }
}

/* ----------------------------------------------------------------- heads */

void mkv_heads_uniform(int layer_budget, int n_heads, int *head_budget) {
    for (int h = 0; h < n_heads; h++) head_budget[h] = layer_budget;
}

void mkv_heads_preference(int layer_budget, const double *preference, int n_heads, double alpha, int *head_budget) {
    double total = 0;
    for (int h = 0; h < n_heads; h++) total += preference[h] > 0 ? preference[h] : 0;
    for (int h = 0; h < n_heads; h++) {
        double share = total > 0 ? (preference[h] > 0 ? preference[h] : 0) / total : 1.0 / n_heads; /* P^_h */
        head_budget[h] = (int)floor_tol(alpha * layer_budget + (1 - alpha) * n_heads * layer_budget * share); /* Eq. 15 */
    }
}

void mkv_heads_adakv(int layer_budget, const int *winners, int n_heads, double safeguard, int *head_budget) {
    for (int h = 0; h < n_heads; h++)
        head_budget[h] = (int)floor(winners[h] * (1 - safeguard) + safeguard * layer_budget + 0.5 + 1e-9);
}

void mkv_budgets_clamp(int *budgets, int n, int lo, int hi) {
    for (int i = 0; i < n; i++) {
        if (budgets[i] > hi) budgets[i] = hi;
        if (budgets[i] < lo) budgets[i] = lo;
    }
}
