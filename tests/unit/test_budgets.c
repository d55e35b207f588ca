/* Budget arithmetic of the eviction policies (src/cache/budgets.c), with
 * numbers worked out by hand in the comments. */
#include <stdlib.h>

#include "cache/budgets.h"
#include "test.h"

static long sum_ints(const int *v, int n) {
    long s = 0;
    for (int i = 0; i < n; i++) s += v[i];
    return s;
}

/* PyramidKV, L = 32, B = 256, w = 32, beta = 20 (the numbers):
 * B' = 224, min = floor(224/20) = 11, max = 448 - 11 = 437,
 * steps = floor(426/31) = 13: the selected part runs 437, 424, ..., 34,
 * plus the 32-token window: 469 .. 66. */
TEST(budget_pyramid_paper_numbers) {
    int k[32];
    mkv_layers_pyramid(256, 32, 20, 32, 100000, k);
    CHECK_EQ_INT(k[0] - 32, 437);
    CHECK_EQ_INT(k[31] - 32, 34);
    for (int l = 0; l < 32; l++) CHECK_EQ_INT(k[l], 437 - 13 * l + 32);
    /* floor(steps) overshoots B*L by 32 * (13.7419 - 13) * 31 / 2 -> 11.5 per layer */
    CHECK_EQ_INT(sum_ints(k, 32), 32 * 256 + 368);
}

/* Short prompt (n_evictable 300): max = 300 - 32 = 268, min = 448 - 268 = 180,
 * steps = floor(88/31) = 2: 300, 298, ..., 238. */
TEST(budget_pyramid_short_prompt_flattens) {
    int k[32];
    mkv_layers_pyramid(256, 32, 20, 32, 300, k);
    CHECK_EQ_INT(k[0], 300);
    CHECK_EQ_INT(k[1], 298);
    CHECK_EQ_INT(k[31], 238);
}

/* B <= w: no window part; B' = 16, min = 0, max = 32, steps = 1: 32 .. 1. */
TEST(budget_pyramid_budget_below_window) {
    int k[32];
    mkv_layers_pyramid(16, 32, 20, 32, 100000, k);
    CHECK_EQ_INT(k[0], 32);
    CHECK_EQ_INT(k[31], 1);
    int one;
    mkv_layers_pyramid(100, 32, 20, 1, 1000, &one);
    CHECK_EQ_INT(one, 100);
}

TEST(budget_kmeans_1d_groups) {
    double v[7] = {0.9, 0.1, 0.12, 0.5, 0.11, 0.52, 0.95};
    int g[7];
    CHECK_EQ_INT(mkv_kmeans_1d(v, 7, 3, g), 3);
    int want[7] = {2, 0, 0, 1, 0, 1, 2};
    for (int i = 0; i < 7; i++) CHECK_EQ_INT(g[i], want[i]);
    /* {0,1,2} {10,11} {30}: SSE 2 + 0.5 + 0 = 2.5, the least of any 3 groups */
    double w[6] = {0, 1, 2, 10, 11, 30};
    CHECK_EQ_INT(mkv_kmeans_1d(w, 6, 3, g), 3);
    int want_w[6] = {0, 0, 0, 1, 1, 2};
    for (int i = 0; i < 6; i++) CHECK_EQ_INT(g[i], want_w[i]);
    /* ties stay together; k drops to the number of distinct values */
    double same[4] = {0.2, 0.2, 0.2, 0.2};
    CHECK_EQ_INT(mkv_kmeans_1d(same, 4, 3, g), 1);
    double two[4] = {0.5, 0.1, 0.5, 0.1};
    CHECK_EQ_INT(mkv_kmeans_1d(two, 4, 3, g), 2);
    CHECK(g[0] == 1 && g[1] == 0 && g[2] == 1 && g[3] == 0);
}

/* SqueezeAttention, L = 6, B = 100: groups {0.02, 0.03} {0.10, 0.11}
 * {0.30, 0.31}; the least important pair gets 40 each, the other four layers
 * share 600 - 80 = 520: 130 each. */
TEST(budget_squeeze_hand_example) {
    double imp[6] = {0.30, 0.02, 0.03, 0.10, 0.11, 0.31};
    int k[6];
    mkv_layers_squeeze(100, imp, 6, 0.4, k);
    int want[6] = {130, 40, 40, 130, 130, 130};
    for (int l = 0; l < 6; l++) CHECK_EQ_INT(k[l], want[l]);
    /* remainder: L = 5, B = 10, {0} {0.5, 0.5} {1, 1}: low 4, rest 46 over
     * 4 layers = 11 r 2 -> the first two get 12 */
    double imp2[5] = {0, 0.5, 0.5, 1, 1};
    int k2[5];
    mkv_layers_squeeze(10, imp2, 5, 0.4, k2);
    int want2[5] = {4, 12, 12, 11, 11};
    for (int l = 0; l < 5; l++) CHECK_EQ_INT(k2[l], want2[l]);
    /* all layers alike: uniform */
    double flat[4] = {0.2, 0.2, 0.2, 0.2};
    int k3[4];
    mkv_layers_squeeze(50, flat, 4, 0.4, k3);
    for (int l = 0; l < 4; l++) CHECK_EQ_INT(k3[l], 50);
}

/* Boundary, L = 4, B = 100, beta = 0.4, I = (0.3, 0.1, 0.1, 0.5):
 * k_p = 400, k_base = 40, k_imp = 240, I_B = 0.8, I_M = 0.2,
 * k_group,B = 192 -> 96 per boundary layer, k_group,M = 48 -> 24 each:
 * (136, 64, 64, 136). */
TEST(budget_boundary_hand_example) {
    double imp[4] = {0.3, 0.1, 0.1, 0.5};
    int k[4];
    mkv_layers_boundary(100, imp, 4, 1, 0.4, k);
    int want[4] = {136, 64, 64, 136};
    for (int l = 0; l < 4; l++) CHECK_EQ_INT(k[l], want[l]);
    /* L = 5, B = 10, I = (1,0,0,0,1): k_base 4, k_imp 30 all to the boundary */
    double imp2[5] = {1, 0, 0, 0, 1};
    int k2[5];
    mkv_layers_boundary(10, imp2, 5, 1, 0.4, k2);
    int want2[5] = {19, 4, 4, 4, 19};
    for (int l = 0; l < 5; l++) CHECK_EQ_INT(k2[l], want2[l]);
}

/* LLaDA-sized rounding: L = 32, B = 256, I = 0.3 at both ends, 0.05 inside:
 * k_base 102.4, k_imp 4915.2, k_group,B = 4915.2 * 0.6/2.1 = 1404.34
 * -> 804.57 per boundary layer; middle 219.43. Floors sum to 8178; the 14
 * missing go to the largest fractions: both ends (.57), then layers 1..12. */
TEST(budget_boundary_rounds_to_exact_total) {
    double imp[32];
    for (int l = 0; l < 32; l++) imp[l] = (l == 0 || l == 31) ? 0.3 : 0.05;
    int k[32];
    mkv_layers_boundary(256, imp, 32, 1, 0.4, k);
    CHECK_EQ_INT(k[0], 805);
    CHECK_EQ_INT(k[31], 805);
    for (int l = 1; l <= 12; l++) CHECK_EQ_INT(k[l], 220);
    for (int l = 13; l <= 30; l++) CHECK_EQ_INT(k[l], 219);
    CHECK_EQ_INT(sum_ints(k, 32), 32 * 256);
    /* boundary_size 2 covers all 4 layers; zero importance: uniform */
    double zero[4] = {0, 0, 0, 0};
    int k2[4];
    mkv_layers_boundary(30, zero, 4, 2, 0.4, k2);
    for (int l = 0; l < 4; l++) CHECK_EQ_INT(k2[l], 30);
    mkv_layers_boundary(30, zero, 4, 1, 0.4, k2);
    for (int l = 0; l < 4; l++) CHECK_EQ_INT(k2[l], 30);
}

/* Eq. 15, k_l = 100, N = 4, alpha = 0.1, P = (0.8, 0.4, 0.2, 0.2):
 * P^ = (0.5, 0.25, 0.125, 0.125); 10 + 360 P^ = (190, 100, 55, 55). */
TEST(budget_preference_hand_example) {
    double pref[4] = {0.8, 0.4, 0.2, 0.2};
    int k[4];
    mkv_heads_preference(100, pref, 4, 0.1, k);
    int want[4] = {190, 100, 55, 55};
    for (int h = 0; h < 4; h++) CHECK_EQ_INT(k[h], want[h]);
    /* k_l = 256, P = (0.9, 0.6, 0.3, 0.2): 25.6 + 921.6 P^ =
     * 440.32, 302.08, 163.84, 117.76 -> floors (440, 302, 163, 117) */
    double pref2[4] = {0.9, 0.6, 0.3, 0.2};
    mkv_heads_preference(256, pref2, 4, 0.1, k);
    int want2[4] = {440, 302, 163, 117};
    for (int h = 0; h < 4; h++) CHECK_EQ_INT(k[h], want2[h]);
    /* alpha = 1 or no preference at all: uniform */
    mkv_heads_preference(64, pref, 4, 1.0, k);
    for (int h = 0; h < 4; h++) CHECK_EQ_INT(k[h], 64);
    double none[4] = {0, 0, 0, 0};
    mkv_heads_preference(64, none, 4, 0.1, k);
    for (int h = 0; h < 4; h++) CHECK_EQ_INT(k[h], 64);
}

/* AdaKV caps: winners (5, 1) of a k_l = 3 layer of two heads, a = 0.2:
 * 5*0.8 + 0.6 = 4.6 -> 5; 1*0.8 + 0.6 = 1.4 -> 1. a = 0.5: (4, 2). */
TEST(budget_adakv_caps) {
    int winners[2] = {5, 1}, k[2];
    mkv_heads_adakv(3, winners, 2, 0.2, k);
    CHECK_EQ_INT(k[0], 5);
    CHECK_EQ_INT(k[1], 1);
    mkv_heads_adakv(3, winners, 2, 0.5, k);
    CHECK_EQ_INT(k[0], 4);
    CHECK_EQ_INT(k[1], 2);
    int k3[3];
    mkv_heads_uniform(7, 3, k3);
    CHECK(k3[0] == 7 && k3[1] == 7 && k3[2] == 7);
}

TEST(budget_clamp) {
    int b[5] = {-3, 0, 5, 10, 99};
    mkv_budgets_clamp(b, 5, 1, 10);
    int want[5] = {1, 1, 5, 10, 10};
    for (int i = 0; i < 5; i++) CHECK_EQ_INT(b[i], want[i]);
}

static unsigned lcg(unsigned *s) {
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* Invariants on random inputs: layer allocations other than PyramidKV sum to
 * exactly B*L; PyramidKV overshoots by less than L(L-1)/2; head allocations
 * sum to N*k_l within rounding; after clamping nothing exceeds the prompt. */
TEST(budget_invariants_random) {
    unsigned s = 12345;
    for (int trial = 0; trial < 400; trial++) {
        int L = 1 + (int)(lcg(&s) % 40), B = 1 + (int)(lcg(&s) % 600), n_ev = 1 + (int)(lcg(&s) % 3000);
        int H = 1 + (int)(lcg(&s) % 32), bsize = (int)(lcg(&s) % 4);
        double beta = (lcg(&s) % 1001) / 1000.0, alpha = (lcg(&s) % 1001) / 1000.0;
        double imp[40], pref[32];
        for (int l = 0; l < L; l++) imp[l] = (lcg(&s) % 1000) / 2000.0;
        for (int h = 0; h < H; h++) pref[h] = (lcg(&s) % 1000) / 1000.0;
        int k[40];
        mkv_layers_uniform(B, L, k);
        CHECK_EQ_INT(sum_ints(k, L), (long)B * L);
        mkv_layers_boundary(B, imp, L, bsize, beta, k);
        CHECK_EQ_INT(sum_ints(k, L), (long)B * L);
        for (int l = 0; l < L; l++) CHECK(k[l] >= 0);
        mkv_layers_squeeze(B, imp, L, 0.4, k);
        CHECK_EQ_INT(sum_ints(k, L), (long)B * L);
        mkv_layers_pyramid(B, 32, 20, L, 1000000, k);
        long pyramid = sum_ints(k, L);
        CHECK_MSG(pyramid >= (long)B * L && pyramid <= (long)B * L + (long)L * (L - 1) / 2,
                  "pyramid sum %ld for B=%d L=%d", pyramid, B, L);
        mkv_layers_pyramid(B, 32, 20, L, n_ev, k);
        mkv_budgets_clamp(k, L, 1, n_ev);
        for (int l = 0; l < L; l++) CHECK(k[l] >= 1 && k[l] <= n_ev);

        int k_l = 1 + (int)(lcg(&s) % 600), hb[32];
        mkv_heads_preference(k_l, pref, H, alpha, hb);
        long total = sum_ints(hb, H);
        CHECK_MSG(total <= (long)H * k_l && total >= (long)H * k_l - H, "preference sum %ld vs %d", total, H * k_l);
        int winners[32];
        long left = (long)H * k_l;
        for (int h = 0; h < H; h++) {
            winners[h] = h == H - 1 ? (int)left : (int)(lcg(&s) % (unsigned)(left + 1));
            left -= winners[h];
        }
        mkv_heads_adakv(k_l, winners, H, 0.2, hb);
        total = sum_ints(hb, H);
        CHECK_MSG(labs(total - (long)H * k_l) <= (H + 1) / 2, "adakv sum %ld vs %d", total, H * k_l);
        mkv_budgets_clamp(hb, H, 1, n_ev);
        for (int h = 0; h < H; h++) CHECK(hb[h] >= 1 && hb[h] <= n_ev);
    }
}

/* Huge finite importances (1e307, whose sums overflow to inf and used to give
 * NaN budgets and budgets summing past B*L): only their ratios matter, so the
 * budgets equal those of the same values scaled down, and sum to B*L. */
TEST(budget_boundary_huge_importance_does_not_overflow) {
    const double huge[4] = {1e307, 1e307, 1e307, 1e307}, unit[4] = {1, 1, 1, 1};
    const double mixed[4] = {1.7e308, 0.5e308, 1e308, 1.7e308}, mixed_small[4] = {1.7, 0.5, 1.0, 1.7};
    int k[4], ref[4];
    mkv_layers_boundary(16, huge, 4, 1, 0.4, k);
    mkv_layers_boundary(16, unit, 4, 1, 0.4, ref);
    CHECK_EQ_INT(sum_ints(k, 4), 64);
    for (int l = 0; l < 4; l++) CHECK_EQ_INT(k[l], ref[l]);
    mkv_layers_boundary(16, mixed, 4, 1, 0.4, k);
    mkv_layers_boundary(16, mixed_small, 4, 1, 0.4, ref);
    CHECK_EQ_INT(sum_ints(k, 4), 64);
    for (int l = 0; l < 4; l++) CHECK_EQ_INT(k[l], ref[l]);
    /* NaN and infinity do not make a budget negative or the sum wrong */
    const double odd[4] = {NAN, INFINITY, 0.3, -1};
    mkv_layers_boundary(16, odd, 4, 1, 0.4, k);
    CHECK_EQ_INT(sum_ints(k, 4), 64);
    for (int l = 0; l < 4; l++) CHECK(k[l] >= 0);
    mkv_layers_squeeze(16, mixed, 4, 0.3, k);
    mkv_layers_squeeze(16, mixed_small, 4, 0.3, ref);
    for (int l = 0; l < 4; l++) CHECK_EQ_INT(k[l], ref[l]);
}
