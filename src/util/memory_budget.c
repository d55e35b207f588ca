#include "util/memory_budget.h"

#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "model/forward.h"
#include "model/model.h"
#include "util/alloc.h"

size_t mkv_physical_memory_bytes(void) {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || page <= 0) return 0;
    double bytes = (double)pages * (double)page;
    return bytes >= (double)SIZE_MAX ? SIZE_MAX : (size_t)bytes;
}

const char *mkv_format_bytes(double bytes, char *buf, size_t size) {
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    int u = 0;
    while (bytes >= 1024 && u < 6) bytes /= 1024, u++;
    if (u == 0) snprintf(buf, size, "%.0f bytes", bytes);
    else snprintf(buf, size, "%.1f %s", bytes, units[u]);
    return buf;
}

mkv_status mkv_memory_check_bounds(const char *what, mkv_memory_estimate e, size_t already, size_t limit,
                                   size_t physical) {
    double need = e.kv_bytes + e.other_bytes;
    const char *bound_name = NULL;
    double bound = 0;
    bool with_weights = false;
    if (limit && (double)already + need > (double)limit) bound_name = "the --max-memory limit of", bound = (double)limit;
    else if (physical && (double)already + need + e.weights_bytes > (double)physical) {
        bound_name = "the physical memory of this machine,", bound = (double)physical;
        with_weights = e.weights_bytes > 0;
    }
    if (!bound_name) return MKV_OK;
    char total[32], kv[32], other[32], b[32], held[48] = "", weights[48] = "";
    if (already) {
        char a[32];
        snprintf(held, sizeof held, " on top of %s held", mkv_format_bytes((double)already, a, sizeof a));
    }
    if (with_weights) {
        char w[32];
        snprintf(weights, sizeof weights, "weights %s, ", mkv_format_bytes(e.weights_bytes, w, sizeof w));
        need += e.weights_bytes;
    }
    return mkv_fail(MKV_ERR_NOMEM, "%s needs about %s (%sKV cache %s, activations and logits %s)%s, more than %s %s",
                    what, mkv_format_bytes(need, total, sizeof total), weights,
                    mkv_format_bytes(e.kv_bytes, kv, sizeof kv), mkv_format_bytes(e.other_bytes, other, sizeof other),
                    held, bound_name, mkv_format_bytes(bound, b, sizeof b));
}

/* Layer allocations whose budgets are known before the selection pass: the
 * policy evicts each layer right after its attention, so the full prompt
 * K/V of only one layer is held at a time (evict.h). */
static bool evicts_layer_by_layer(const mkv_evict_config *e) {
    return e->layer_alloc == MKV_LAYERS_UNIFORM || e->layer_alloc == MKV_LAYERS_PYRAMID ||
           (e->layer_alloc == MKV_LAYERS_BOUNDARY && e->layer_importance);
}

mkv_memory_estimate mkv_gen_memory_estimate(const mkv_model *m, const mkv_gen_params *p, int n_prompt) {
    const mkv_hparams *hp = mkv_model_hparams(m);
    /* doubles: hostile sizes must not wrap around */
    double L = hp->n_layers, d = hp->d_model, V = hp->n_vocab, ff = hp->d_ff;
    double q_dim = (double)hp->n_heads * hp->head_dim, kv_dim = (double)hp->n_kv_heads * hp->head_dim;
    double P = n_prompt, G = p->gen_len;
    if (p->ctx_size > 0 && p->ctx_size - G > P) P = p->ctx_size - G; /* --ctx-size: sized for the whole context */
    double N = P + G;
    double sequences = p->cfg > 0 ? 2 : 1;
    bool response_state = p->cache.mode == MKV_CACHE_DLLM || p->cache.mode == MKV_CACHE_EVICT;
    double fixed = response_state ? P - (hp->shift_logits ? 1 : 0) : 0; /* prompt rows outside the dynamic part */
    double dyn = N - fixed;
    double f = sizeof(float);

    /* mkv_denoise: sequence, candidates, chosen, picked (4 bytes each), confidence (8), logits */
    double other = sequences * (N * 24 + G * V * f);
    /* engine workspace (forward.c workspace_floats: the residual stream, then
     * chunks of xn, proj, q, att, k, v, FFN gate/up) and the LM head input */
    double chunk = N < MKV_FORWARD_CHUNK_ROWS ? N : MKV_FORWARD_CHUNK_ROWS;
    other += sequences * f * (N * d + chunk * (2 * d + 2 * q_dim + 2 * kv_dim + 2 * ff) + G * d);
    /* engine row lists */
    other += sequences * 3 * N * 4;
    if (response_state) {
        double widest = q_dim > d ? q_dim : d;
        other += f * (2 * L * dyn * d + dyn * (2 * widest + q_dim + 3 * kv_dim + 2 * d) + dyn);
    }
    /* matmul packing panels and attention tiles: about 1 MiB per thread and call (kernels) */
    other += (double)omp_get_max_threads() * (1 << 20);
    /* K and V of one position, all KV heads of a layer (bf16 compute: 2-byte elements) */
    const bool bf16 = mkv_compute_for_request(m, p) == MKV_COMPUTE_BF16;
    double row_bytes = 2 * kv_dim * (bf16 ? 2 : f);
    /* bf16 on AMX: one layer's values transposed for P.V while the layer runs (kernels.h) */
    if (bf16 && mkv_cpu_has_amx()) other += sequences * N * kv_dim * 2;
    double kv = sequences * L * N * row_bytes;
    if (p->cache.mode == MKV_CACHE_EVICT) {
        /* voting scores of every layer and head over the prompt */
        other += L * hp->n_heads * P * f + 4 * N * 8;
        double kept = p->cache.evict.budget < fixed ? p->cache.evict.budget : fixed;
        if (kept < 0) kept = 0;
        if (evicts_layer_by_layer(&p->cache.evict))
            kv = L * (kept + dyn) * row_bytes + fixed * row_bytes; /* + one layer's full prompt K/V */
    }
    return (mkv_memory_estimate){kv, other, (double)mkv_model_n_bytes(m)};
}

mkv_status mkv_gen_check_memory(const mkv_model *m, const mkv_gen_params *p, int n_prompt) {
    char what[64] = "this generation";
    if (p->ctx_size > 0) snprintf(what, sizeof what, "a context of %d tokens (--ctx-size)", p->ctx_size);
    return mkv_memory_check_bounds(what, mkv_gen_memory_estimate(m, p, n_prompt), mkv_alloc_current_bytes(),
                                   mkv_alloc_limit(), mkv_physical_memory_bytes());
}
