/* maskkv generate: masked-diffusion generation with a choice of cache modes
 * and prompt-KV eviction policies. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "progress.h"

static void usage(void) {
    printf(
        "usage: maskkv generate -m MODEL (-p TEXT | -f FILE | --ids \"1 2 3\" | --ids-file FILE) [options]\n"
        "Denoises --gen-len masked tokens after the prompt and prints the answer.\n"
        "prompt:\n"
        "  -m, --model PATH       .gguf file or HF checkpoint directory (required)\n"
        "  -p, --prompt TEXT      the prompt;  -f, --file FILE: read it from a file\n"
        "  --ids LIST, --ids-file FILE   the prompt as token ids\n"
        "  --chat                 wrap the prompt in the model's chat template (off)\n"
        "  --answer-prefix TEXT   start the answer with TEXT (after the chat template's\n"
        "                         assistant header); only the rest is generated and printed (none)\n"
        "  -c, --ctx-size N       context limit in tokens (default: the trained context); past the\n"
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
        "  --max-memory SIZE      refuse a request whose estimate exceeds SIZE, e.g. 8G (physical memory)\n"
        "  --json                 one JSON object on stdout: text, ids, timings, peak RSS, KV bytes\n"
        "  --visual               show the answer unmasking on stderr (off)\n"
        "  --stats                one summary line on stderr (prompt tokens, KV kept, seconds, peak memory)\n"
        "  --progress             progress on stderr even when it is not a terminal (prefill layers, steps)\n"
        "example: maskkv generate -m models/llada-tiny-retrieval.gguf --chat -f models/example-niah.txt --cache maskkv --budget 64 --gen-len 16 --steps 16 --block-len 16\n");
}

typedef struct {
    mkv_progress bar;
    bool visual, prefill_done;
} progress_state;

/* The prefill (the first pass, over the whole prompt) layer by layer. */
static int show_layer(void *ctx, int layer, int n_layers, int n_rows) {
    progress_state *p = ctx;
    if (p->prefill_done) return 0;
    mkv_progress_update(&p->bar, layer + 1, n_layers, "layer", (double)n_rows * (layer + 1) / n_layers, "tok", NULL);
    return 0;
}

static int show_progress(const mkv_step_info *step, void *ctx) {
    progress_state *p = ctx;
    if (!p->prefill_done) {
        p->prefill_done = true;
        mkv_progress_phase(&p->bar, "denoise");
    }
    mkv_progress_update(&p->bar, step->step, step->n_steps, "step", step->step, "step", NULL);
    if (p->visual && p->bar.enabled && p->bar.terminal && mkv_model_tokenizer(step->model)) {
        char *text = NULL;
        size_t len = 0;
        fprintf(stderr, "\n");
        if (mkv_step_text(step, false, "_", &text, &len) == MKV_OK) fwrite(text, 1, len, stderr);
        mkv_free(text);
        fprintf(stderr, "\n\033[2A");
        fflush(stderr);
    }
    return 0;
}

/* --stats: one line for a person, on stderr (the answer alone on stdout). */
static void print_summary(const mkv_model *model, const mkv_gen_stats *r) {
    const mkv_hparams *hp = mkv_model_hparams(model);
    const double mib = 1024.0 * 1024.0;
    char kept[160] = "";
    if (r->kv_kept_per_layer) {
        double full = (double)r->n_prompt * hp->n_layers * hp->n_kv_heads;
        snprintf(kept, sizeof kept, "KV kept %lld of %.0f prompt pairs (%.1f%%), ", (long long)r->kv_prompt_kept, full,
                 full > 0 ? 100.0 * (double)r->kv_prompt_kept / full : 0);
    }
    fprintf(stderr, "stats: %d prompt tokens, %s%.1f MiB of KV at the peak; %.2f s (prefill %.2f s, %d steps); peak RSS %.1f MiB\n",
            r->n_prompt, kept, (double)r->kv_bytes / mib, r->seconds, r->prefill_seconds, r->steps,
            (double)mkv_peak_rss_bytes() / mib);
}

mkv_status cmd_generate(int argc, char **argv) {
    const char *model_path = NULL, *prompt_text = NULL, *prompt_file = NULL, *ids_text = NULL;
    const char *ids_file = NULL, *answer_prefix = NULL;
    const char *cache_name = "none", *cold_text = NULL, *revote_text = NULL;
    bool chat = false, json = false, visual = false, force_progress = false, stats = false;
    /* the policy parts apply over the --cache preset, wherever they are given */
    const char *policy_flag[3] = {NULL, NULL, NULL}, *policy_value[3] = {NULL, NULL, NULL};
    mkv_model_params mp = mkv_model_params_default();
    mkv_gen_params p;
    mkv_gen_params_defaults(&p);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage();
            return MKV_OK;
        }
        if (!strcmp(a, "--chat")) { chat = true; continue; }
        if (!strcmp(a, "--json")) { json = true; continue; }
        if (!strcmp(a, "--visual")) { visual = true; continue; }
        if (!strcmp(a, "--progress")) { force_progress = true; continue; }
        if (!strcmp(a, "--stats")) { stats = true; continue; }
        if (!strcmp(a, "--no-eos") || !strcmp(a, "--no-eot")) {
            if (mkv_gen_params_set(&p, a, NULL) != MKV_OK) return MKV_ERR_USAGE;
            continue;
        }
        const char *v = mkv_arg_next(argc, argv, &i); /* NULL: checked once the flag is known */
        int policy = !strcmp(a, "--select") ? 0 : !strcmp(a, "--layer-alloc") ? 1 : !strcmp(a, "--head-alloc") ? 2 : -1;
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) model_path = v;
        else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) prompt_text = v;
        else if (!strcmp(a, "-f") || !strcmp(a, "--file")) prompt_file = v;
        else if (!strcmp(a, "--ids")) ids_text = v;
        else if (!strcmp(a, "--ids-file")) ids_file = v;
        else if (!strcmp(a, "--answer-prefix")) answer_prefix = v;
        else if (!strcmp(a, "--cache")) cache_name = v;
        else if (!strcmp(a, "--cold")) cold_text = v;  /* applied over the preset, below */
        else if (!strcmp(a, "--revote")) revote_text = v;
        else if (policy >= 0) {
            mkv_gen_params scratch = p; /* checked here, applied after the preset */
            if (mkv_gen_params_set(&scratch, a, v) != MKV_OK) return MKV_ERR_USAGE;
            policy_flag[policy] = a;
            policy_value[policy] = v;
        } else if (!strcmp(a, "--threads") || !strcmp(a, "-t")) { if (!mkv_parse_threads(v, &mp.n_threads)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--max-memory")) {
            if (!mkv_parse_bytes(a, v, &mp.max_memory)) return MKV_ERR_USAGE;
            mkv_alloc_set_limit(mp.max_memory);
        } else if (a[0] == '-' && !strchr(a, '_') && (a[1] == '-' || !strcmp(a, "-c")) && mkv_gen_params_is_option(a)) {
            if (mkv_gen_params_set(&p, a, v) != MKV_OK) return MKV_ERR_USAGE;
        } else return mkv_fail(MKV_ERR_USAGE, "unknown option '%s' (see maskkv generate --help)", a);
        if (!v) return mkv_arg_missing(a);
    }
    if (!model_path) return mkv_fail(MKV_ERR_USAGE, "-m MODEL is required");
    if (!!prompt_text + !!prompt_file + !!ids_text + !!ids_file != 1)
        return mkv_fail(MKV_ERR_USAGE, "give exactly one of -p TEXT, -f FILE, --ids \"...\" or --ids-file FILE");
    if (mkv_gen_params_set_cache(&p, cache_name) != MKV_OK) return MKV_ERR_USAGE;
    if ((cold_text || revote_text) && mkv_gen_params_set_revote(&p, cold_text, revote_text) != MKV_OK) return MKV_ERR_USAGE;
    for (int k = 0; k < 3; k++)
        if (policy_flag[k] && mkv_gen_params_set(&p, policy_flag[k], policy_value[k]) != MKV_OK) return MKV_ERR_USAGE;
    bool boundary_requested = p.cache.mode == MKV_CACHE_EVICT && p.cache.evict.layer_alloc == MKV_LAYERS_BOUNDARY;

    mkv_model *model = NULL;
    char *file_text = NULL, *chat_text = NULL, *prefixed_text = NULL;
    int32_t *prompt = NULL;
    int n_prompt = 0;
    mkv_gen_result *result = NULL;
    /* the header first: a request too big for the machine is refused before
     * the weights are mapped */
    mkv_status st = mkv_model_load_header(model_path, &mp, &model);
    if (st != MKV_OK) goto done;
    const mkv_tokenizer *tok = mkv_model_tokenizer(model);
    const mkv_hparams *hp = mkv_model_hparams(model);
    if (ids_file) {
        if ((st = mkv_read_text_file(ids_file, (size_t)1 << 30, &file_text, NULL)) != MKV_OK) goto done;
        ids_text = file_text;
    }
    if (ids_text && answer_prefix) {
        st = mkv_fail(MKV_ERR_USAGE, "--answer-prefix needs a text prompt (-p or -f), not token ids");
        goto done;
    }
    if (ids_text) {
        if (!mkv_parse_id_list(ids_file ? ids_file : "--ids", ids_text, &prompt, &n_prompt)) {
            st = mkv_last_status();
            goto done;
        }
    } else {
        if (!tok) {
            st = mkv_fail(MKV_ERR_UNSUPPORTED, "%s has no tokenizer; give the prompt as --ids", model_path);
            goto done;
        }
        const char *text = prompt_text;
        if (prompt_file) {
            size_t file_len = 0;
            if ((st = mkv_read_text_file(prompt_file, (size_t)1 << 30, &file_text, &file_len)) != MKV_OK) goto done;
            const char *nul = memchr(file_text, '\0', file_len);
            if (nul) { /* the prompt is a C string from here on: refuse rather than cut it */
                st = mkv_fail(MKV_ERR_INPUT, "%s: the prompt contains a NUL byte at offset %zu", prompt_file,
                              (size_t)(nul - file_text));
                goto done;
            }
            text = file_text;
        }
        if (chat) {
            mkv_chat_message turn = {"user", text};
            if ((st = mkv_chat_apply(model, &turn, 1, true, &chat_text)) != MKV_OK) goto done;
            text = chat_text;
        }
        if (answer_prefix) {
            size_t n_text = strlen(text), n_prefix = strlen(answer_prefix);
            if (!(prefixed_text = mkv_malloc(n_text + n_prefix + 1, "prompt with answer prefix"))) {
                st = mkv_last_status();
                goto done;
            }
            memcpy(prefixed_text, text, n_text);
            memcpy(prefixed_text + n_text, answer_prefix, n_prefix + 1);
            text = prefixed_text;
        }
        if ((st = mkv_tokenize(tok, text, strlen(text), true, &prompt, &n_prompt)) != MKV_OK) goto done;
        if (n_prompt == 0) {
            st = mkv_fail(MKV_ERR_INPUT, "the prompt is empty");
            goto done;
        }
    }
    /* the refusals first (parameters, profile, memory), so that a refused
     * run prints its error and nothing else, not even a warning */
    if ((st = mkv_gen_check(model, &p, n_prompt)) != MKV_OK) goto done;
    if ((st = mkv_model_load_weights(model)) != MKV_OK) goto done;
    mkv_warn_past_context("generate", n_prompt + p.gen_len, hp->n_ctx, p.ctx_size);
    progress_state progress = {.visual = visual};
    mkv_progress_init(&progress.bar, force_progress, json);
    mkv_progress_phase(&progress.bar, "prefill");
    p.on_step = show_progress;
    p.on_step_ctx = &progress;
    p.on_layer = show_layer;
    p.on_layer_ctx = &progress;
    if ((st = mkv_generate(model, prompt, n_prompt, &p, &result)) != MKV_OK) goto done;
    mkv_progress_finish(&progress.bar);
    if (visual && progress.bar.enabled && progress.bar.terminal) fprintf(stderr, "\n\n");
    const mkv_gen_stats *s = mkv_gen_result_stats(result);
    if (boundary_requested && !s->profile && !json) /* printed once the request has run: an error stays one line */
        fprintf(stderr, "maskkv generate: note: no --profile (and no %s): layer budgets measured on this request (boundary-online)\n",
                mkv_model_default_profile(model, NULL));
    size_t answer_bytes = 0;
    const char *answer_text = mkv_gen_result_text(result, &answer_bytes);
    if (json) {
        char *line = NULL;
        if ((st = mkv_gen_result_json(result, &line, NULL)) != MKV_OK) goto done;
        printf("%s\n", line);
        mkv_free(line);
    } else if (answer_text) {
        fwrite(answer_text, 1, answer_bytes, stdout);
        fputc('\n', stdout);
    } else {
        int answer_len = 0;
        const int32_t *answer = mkv_gen_result_ids(result, &answer_len);
        for (int i = 0; i < answer_len; i++) printf("%s%d", i ? " " : "", answer[i]);
        printf("\n");
    }
    /* the summary follows the answer, also when stdout is a pipe and stderr is not */
    fflush(stdout);
    if (stats) print_summary(model, s);
done:
    mkv_gen_result_free(result);
    mkv_free(prompt);
    mkv_free(chat_text);
    mkv_free(prefixed_text);
    mkv_free(file_text);
    mkv_model_free(model);
    return st;
}
