/* Budget arithmetic of the eviction policies (SPEC §4-5): how many prompt KV
 * pairs each layer and each KV head keeps. Pure functions of their inputs (no
 * allocation, no model), so every number can be checked by hand in the tests.
 *
 * Units: a layer budget k_l is the AVERAGE number of prompt pairs kept per KV
 * head of layer l (the paper's k_l); the total prompt budget is
 * k_p = B * n_layers in these units, and layer l keeps about n_kv_heads * k_l
 * pairs. A head budget k_{l,h} is the number of pairs KV head h keeps.
 *
 * Rounding: "floor" below means floor(x + 1e-9), so that integers computed
 * in floating point (e.g. 0.9 * 400 * 0.25 = 89.99999999) are not lost. */
#ifndef MKV_BUDGETS_H
#define MKV_BUDGETS_H

/* The layer functions handle at most this many layers (models have < 200). */
#define MKV_BUDGETS_MAX_LAYERS 1024

/* ---------------------------------------------------------------- layers */

/* Every layer gets B. */
void mkv_layers_uniform(int budget, int n_layers, int *layer_budget);

/* PyramidKV (Cai et al. 2024, their pyramidkv_utils.py), integer arithmetic:
 *   w  = window if budget > window, else 0 (the whole budget pyramids)
 *   B' = B - w;  min = floor(B' / beta_p);  max = 2 B' - min
 *   if max >= n_evictable - w:  max = n_evictable - w, min = 2 B' - max
 *   steps = floor((max - min) / (L - 1));  k_l = max - l * steps + w
 * (L = 32, B = 256, w = 32, beta_p = 20: the selected part runs 437 down to 34,
 * k_l = 469 .. 66 with the window.) As in the original, floor(steps) makes the
 * layers sum to a little MORE than B*L (here by 11.5 per layer). L = 1 gets B. */
void mkv_layers_pyramid(int budget, int window, double beta_p, int n_layers, int n_evictable, int *layer_budget);

/* Optimal 1-D k-means (least within-group sum of squares, by dynamic
 * programming over the sorted values, so the result is deterministic): equal
 * values always share a group, and k is lowered to the number of distinct
 * values. group[i] is in 0..g-1, groups numbered by increasing value.
 * Values must be finite; n <= MKV_BUDGETS_MAX_LAYERS, k <= 8.
 * Returns g (0 when n == 0). */
int mkv_kmeans_1d(const double *values, int n, int k, int *group);

/* SqueezeAttention: importance[l] = 1 - mean cos(h_in, h_out) measured on the
 * request; 3-group 1-D k-means; each layer of the least important group
 * (lowest importance = highest cosine similarity) gets floor(low_share * B),
 * the other layers share the rest of B*L equally (remainder one each to the
 * first of them in layer order). One group only (all equal): uniform. */
void mkv_layers_squeeze(int budget, const double *importance, int n_layers, double low_share, int *layer_budget);

/* MaskKV boundary-aware allocation (paper Eq. 9-13):
 *   k_p = B*L;  k_base = beta*k_p/L;  k_imp = k_p - L*k_base
 *   boundary group S_B = the first and last `boundary_size` layers, S_M the rest
 *   I_g = SUM over l in S_g of I(l)   (Eq. 11 aggregates by sum, not mean)
 *   k_group,B = k_imp * I_B / (I_B + I_M);  k_group,M = k_imp - k_group,B
 *   k_l = k_base + k_group,g / |S_g|
 * Negative importances count as 0; an empty group gives its part to the other;
 * I_B + I_M = 0 splits k_imp by group size. The real k_l are rounded to
 * integers summing to exactly B*L (floors, then +1 to the largest fractional
 * parts, ties to the lower layer). */
void mkv_layers_boundary(int budget, const double *importance, int n_layers, int boundary_size, double beta,
                         int *layer_budget);

/* ----------------------------------------------------------------- heads */

/* Every head of the layer gets k_l. */
void mkv_heads_uniform(int layer_budget, int n_heads, int *head_budget);

/* MaskKV prompt preference (paper Eq. 14-15): P^_h = P_h / sum_j P_j,
 *   k_{l,h} = floor(alpha * k_l + (1 - alpha) * N_h * k_l * P^_h).
 * Negative P count as 0; all-zero preferences give P^_h = 1/N_h. */
void mkv_heads_preference(int layer_budget, const double *preference, int n_heads, double alpha, int *head_budget);

/* AdaKV with safeguard a (SPEC §5): winners[h] = how many of the layer's top
 * N_h * k_l flattened scores belong to head h;
 *   cap_h = round(winners[h] * (1 - a) + a * k_l)   (round half up). */
void mkv_heads_adakv(int layer_budget, const int *winners, int n_heads, double safeguard, int *head_budget);

/* Clamps every budget into [lo, hi]. */
void mkv_budgets_clamp(int *budgets, int n, int lo, int hi);

#endif
