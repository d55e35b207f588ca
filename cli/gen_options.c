/* gen_options.h */
#include "gen_options.h"

#include <string.h>

#include "args.h"

void gen_options_init(gen_options *o) {
    memset(o, 0, sizeof *o);
    mkv_gen_params_defaults(&o->params);
    o->model = mkv_model_params_default();
    o->cache_name = "none";
}

bool gen_options_switch(gen_options *o, const char *flag, mkv_status *st) {
    if (strcmp(flag, "--no-eos") != 0 && strcmp(flag, "--no-eot") != 0) return false;
    *st = mkv_gen_params_set(&o->params, flag, NULL) == MKV_OK ? MKV_OK : MKV_ERR_USAGE;
    return true;
}

bool gen_options_value(gen_options *o, const char *a, const char *v, mkv_status *st) {
    *st = MKV_OK;
    int policy = !strcmp(a, "--select") ? 0 : !strcmp(a, "--layer-alloc") ? 1 : !strcmp(a, "--head-alloc") ? 2 : -1;
    if (!strcmp(a, "--cache")) o->cache_name = v;
    else if (!strcmp(a, "--cold")) o->cold_text = v; /* applied over the preset, in finish */
    else if (!strcmp(a, "--revote")) o->revote_text = v;
    else if (policy >= 0) {
        mkv_gen_params scratch = o->params; /* checked here, applied after the preset */
        if (mkv_gen_params_set(&scratch, a, v) != MKV_OK) *st = MKV_ERR_USAGE;
        o->policy_flag[policy] = a;
        o->policy_value[policy] = v;
    } else if (!strcmp(a, "--threads") || !strcmp(a, "-t")) {
        if (!mkv_parse_threads(v, &o->model.n_threads)) *st = MKV_ERR_USAGE;
    } else if (!strcmp(a, "--max-memory")) {
        if (!mkv_parse_bytes(a, v, &o->model.max_memory)) *st = MKV_ERR_USAGE;
        else mkv_alloc_set_limit(o->model.max_memory);
    } else if (a[0] == '-' && !strchr(a, '_') && (a[1] == '-' || !strcmp(a, "-c")) && mkv_gen_params_is_option(a)) {
        if (mkv_gen_params_set(&o->params, a, v) != MKV_OK) *st = MKV_ERR_USAGE;
    } else return false;
    return true;
}

mkv_status gen_options_finish(gen_options *o) {
    if (mkv_gen_params_set_cache(&o->params, o->cache_name) != MKV_OK) return MKV_ERR_USAGE;
    if ((o->cold_text || o->revote_text) && mkv_gen_params_set_revote(&o->params, o->cold_text, o->revote_text) != MKV_OK)
        return MKV_ERR_USAGE;
    for (int k = 0; k < 3; k++)
        if (o->policy_flag[k] && mkv_gen_params_set(&o->params, o->policy_flag[k], o->policy_value[k]) != MKV_OK)
            return MKV_ERR_USAGE;
    return MKV_OK;
}

void gen_options_usage(FILE *out) {
    fputs("  -c, --ctx-size N       context limit in tokens (default: the trained context); past the\n"
          "                         trained context it runs with a warning; the memory check sizes N\n"
          "sampling:\n"
          "  --gen-len N            tokens to generate (128)\n"
          "  --steps N              denoising steps (128)\n"
          "  --block-len N          LLaDA semi-autoregressive block length (32)\n"
          "  --remasking low_confidence|random   LLaDA (low_confidence)\n"
          "  --alg origin|maskgit_plus|topk_margin|entropy   Dream (maskgit_plus)\n"
          "  --temp T (0 = greedy)  --top-p P (1)  --top-k K (0 = off)  --alg-temp T (0)\n"
          "  --eps E (0.001)  --cfg S (0 = off)  --threshold C (0 = off: fixed tokens per step)\n"
          "  --no-eos / --no-eot    never generate EOS / EOT (off)\n"
          "  --seed S               random seed (0)\n"
          "cache:\n"
          "  --cache MODE           none | prefix | dllm | maskkv | maskkv-revote | snapkv | pyramidkv\n"
          "                         | squeeze | adakv | streaming | random (none)\n"
          "  --cold off|file|ram    maskkv: keep evicted prompt K/V as int8 in a cold store, in an unlinked\n"
          "                         temporary file in $TMPDIR (file) or in memory (off; file for maskkv-revote)\n"
          "  --revote off|block|N   maskkv: re-vote hot and cold prompt rows with the current mask queries\n"
          "                         at each new block (Dream: the same cadence) or every N steps; given\n"
          "                         alone it brings --cold file (off; block with --cold or maskkv-revote)\n"
          "  --budget B             prompt K/V entries kept per head, eviction modes (256)\n"
          "  --prompt-refresh N     dllm/eviction: prompt refresh interval, 0 = never (50)\n"
          "  --response-refresh N   dllm/eviction: response refresh interval (5)\n"
          "  --transfer-ratio R     dllm/eviction: partial-update ratio (0.25)\n"
          "  --select maskvote|snapkv|streaming|random|full   (maskvote for maskkv)\n"
          "  --layer-alloc uniform|pyramid|squeeze|boundary|boundary-online   (boundary for maskkv)\n"
          "  --head-alloc uniform|adakv|preference   (preference for maskkv)\n"
          "  --alpha A (0.1)  --beta B (0.4)  --window W (32)  --pool-kernel K (7)  --boundary-size N (1)\n"
          "  --profile FILE         layer importance from `maskkv calibrate` (MODEL.profile.json if present)\n"
          "run:\n"
          "  -t, --threads N        threads (all cores)\n"
          "  --compute P            auto | f32 | bf16: matmul and attention precision; bf16 also stores\n"
          "                         K/V in bf16 (auto: bf16 when the CPU has fast AVX-512-BF16, i.e.\n"
          "                         AMD, and the weights are bf16 or quantized, else f32)\n"
          "  --max-memory SIZE      refuse a request whose estimate exceeds SIZE, e.g. 8G (physical memory)\n",
          out);
}
