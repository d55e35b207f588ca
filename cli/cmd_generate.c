/* maskkv generate: masked-diffusion generation with a choice of cache modes
 * and prompt-KV eviction policies. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "cache_presets.h"
#include "chat_prompt.h"
#include "cache/profile.h"
#include "commands.h"
#include "progress.h"
#include "json_text.h"
#include "generate/generate.h"
#include "tokenizer/tokenizer.h"
#include "util/alloc.h"
#include "util/mapped_file.h"
#include "util/memory_budget.h"

static void usage(void) {
    printf(
        "usage: maskkv generate -m MODEL (-p TEXT | -f FILE | --ids \"1 2 3\" | --ids-file FILE) [options]\n"
        "  --chat                 wrap the prompt in the model's chat template\n"
        "  --system TEXT          system message (implies --chat)\n"
        "  --messages FILE.json   the conversation, [{\"role\": \"system|user|assistant\", \"content\": \"...\"}, ...],\n"
        "                         rendered by the model's chat template; with -f DOC, DOC goes before\n"
        "                         the text of the last user message (DOC, a blank line, the text)\n"
        "  --chat-template-file F use the Jinja chat template in F instead of the model's\n"
        "  --print-prompt         print the prompt text (after the chat template) and exit\n"
        "  --answer-prefix TEXT   start the answer with TEXT (after the chat template's\n"
        "                         assistant header); only the rest is generated and printed\n"
        "  --gen-len N            tokens to generate (128)\n"
        "  --steps N              denoising steps (128)\n"
        "  --block-len N          LLaDA semi-autoregressive block length (32)\n"
        "  --remasking low_confidence|random   LLaDA (low_confidence)\n"
        "  --alg origin|maskgit_plus|topk_margin|entropy   Dream (maskgit_plus)\n"
        "  --temp T  --top-p P  --top-k K  --alg-temp T  --eps E  --cfg S  --threshold C\n"
        "  --no-eos / --no-eot    never generate EOS / EOT\n"
        "  --seed S               random seed (0)\n"
        "  --ctx-size N           context limit in tokens (default: the trained context); past the\n"
        "                         trained context it runs with a warning; the memory check sizes N\n"
        "  --cache MODE           none | prefix | dllm | maskkv | snapkv | pyramidkv | squeeze | adakv\n"
        "                         | streaming | random (none)\n"
        "  --prompt-refresh N     dllm/eviction: prompt refresh interval, 0 = never (50)\n"
        "  --response-refresh N   dllm/eviction: response refresh interval (5)\n"
        "  --transfer-ratio R     dllm/eviction: partial-update ratio (0.25)\n"
        "  --select maskvote|snapkv|streaming|random|full\n"
        "  --layer-alloc uniform|pyramid|squeeze|boundary|boundary-online\n"
        "  --head-alloc uniform|adakv|preference\n"
        "  --budget B  --alpha A  --beta B  --window W  --pool-kernel K  --boundary-size N\n"
        "  --profile FILE         layer importance from `maskkv calibrate`\n"
        "  --threads N  --max-memory SIZE  --json  --visual\n"
        "  --stats                one summary line on stderr (prompt tokens, KV kept, seconds, peak memory)\n"
        "  --progress             progress on stderr even when it is not a terminal (prefill layers, steps)\n");
}

typedef struct {
    mkv_progress bar;
    bool visual, prefill_done;
    const mkv_tokenizer *tokenizer;
    int32_t mask_id;
} progress_state;

/* The prefill (the first pass, over the whole prompt) layer by layer. */
static void show_layer(void *ctx, int layer, int n_layers, int n_rows) {
    progress_state *p = ctx;
    if (p->prefill_done) return;
    mkv_progress_update(&p->bar, layer + 1, n_layers, "layer", (double)n_rows * (layer + 1) / n_layers, "tok", NULL);
}

static bool show_progress(void *ctx, int step, int total, const int32_t *tokens, int n_prompt, int n_total) {
    progress_state *p = ctx;
    if (!p->prefill_done) {
        p->prefill_done = true;
        mkv_progress_phase(&p->bar, "denoise");
    }
    mkv_progress_update(&p->bar, step, total, "step", step, "step", NULL);
    if (p->visual && p->bar.enabled && p->bar.terminal && p->tokenizer) {
        char *text = NULL;
        size_t len = 0;
        fprintf(stderr, "\n");
        if (mkv_detokenize_partial(p->tokenizer, tokens + n_prompt, n_total - n_prompt, p->mask_id, "_", &text, &len) == MKV_OK)
            fwrite(text, 1, len, stderr);
        mkv_free(text);
        fprintf(stderr, "\n\033[2A");
        fflush(stderr);
    }
    return true;
}

static bool parse_choice(const char *flag, const char *value, const char *const *names, int n, int *out) {
    if (!value) return mkv_arg_missing(flag), false;
    for (int i = 0; i < n; i++)
        if (names[i] && !strcmp(value, names[i])) {
            *out = i;
            return true;
        }
    mkv_fail(MKV_ERR_USAGE, "%s: unknown value '%s'", flag, value);
    return false;
}

/* "text" is written by mkv_json_write_string (it may hold NUL bytes, which
 * cJSON's strings cannot), the other fields by cJSON. */
static void print_json(const mkv_model *model, const mkv_gen_params *p, const mkv_gen_result *r, const char *text,
                       size_t text_len, int n_unknown, int answer_len, const char *cache_name) {
    cJSON *o = cJSON_CreateObject();
    cJSON *tokens = cJSON_AddArrayToObject(o, "tokens");
    for (int i = 0; i < answer_len; i++) cJSON_AddItemToArray(tokens, cJSON_CreateNumber(r->tokens[r->n_prompt + i]));
    cJSON_AddNumberToObject(o, "unknown_ids", n_unknown);
    cJSON_AddNumberToObject(o, "n_prompt", r->n_prompt);
    cJSON_AddNumberToObject(o, "gen_len", p->gen_len);
    cJSON_AddNumberToObject(o, "steps", r->steps_run);
    cJSON_AddNumberToObject(o, "seconds", r->seconds);
    cJSON_AddNumberToObject(o, "prefill_seconds", r->first_step_seconds);
    double decode_seconds = r->seconds - r->first_step_seconds;
    cJSON_AddNumberToObject(o, "tokens_per_second", r->seconds > 0 ? p->gen_len / r->seconds : 0);
    cJSON_AddNumberToObject(o, "decode_seconds_per_step",
                            r->steps_run > 1 ? decode_seconds / (r->steps_run - 1) : 0);
    cJSON_AddNumberToObject(o, "peak_rss_bytes", (double)mkv_peak_rss_bytes());
    cJSON_AddNumberToObject(o, "peak_alloc_bytes", (double)mkv_alloc_peak_bytes());
    cJSON_AddNumberToObject(o, "kv_bytes", (double)r->kv_bytes_peak);
    cJSON_AddNumberToObject(o, "kv_bytes_decode", (double)r->kv_bytes_final);
    cJSON_AddNumberToObject(o, "model_bytes", (double)mkv_model_n_bytes(model));
    cJSON_AddNumberToObject(o, "weights_resident_bytes", (double)mkv_model_resident_bytes(model));
    cJSON_AddStringToObject(o, "cache", cache_name);
    cJSON_AddNumberToObject(o, "full_passes", r->n_full_passes);
    /* seconds per part: the first step (prefill) and the other steps together */
    const mkv_forward_timing *parts[2] = {&r->prefill_timing, &r->decode_timing};
    const char *part_names[2] = {"time_prefill", "time_decode"};
    for (int k = 0; k < 2; k++) {
        cJSON *t = cJSON_AddObjectToObject(o, part_names[k]);
        for (int part = 0; part < MKV_PART_COUNT; part++)
            cJSON_AddNumberToObject(t, mkv_forward_part_names[part], parts[k]->seconds[part]);
    }
    cJSON_AddNumberToObject(o, "time_sampling", r->sampling_seconds);
    cJSON_AddNumberToObject(o, "partial_steps", r->n_partial_steps);
    if (p->cache.mode == MKV_CACHE_EVICT) cJSON_AddNumberToObject(o, "budget", p->cache.evict.budget);
    if (r->kv_kept_per_layer) {
        cJSON_AddNumberToObject(o, "kv_prompt_kept", (double)r->kv_prompt_kept);
        cJSON *per_layer = cJSON_AddArrayToObject(o, "kv_kept_per_layer");
        for (int l = 0; l < model->hp.n_layers; l++)
            cJSON_AddItemToArray(per_layer, cJSON_CreateNumber((double)r->kv_kept_per_layer[l]));
    }
    char *s = cJSON_PrintUnformatted(o);
    fputs("{\"text\":", stdout);
    mkv_json_write_string(stdout, text ? text : "", text ? text_len : 0);
    printf(",%s\n", s + 1); /* cJSON's object without its opening brace */
    cJSON_free(s);
    cJSON_Delete(o);
}

/* --stats: one line for a person, on stderr (the answer alone on stdout). */
static void print_summary(const mkv_model *model, const mkv_gen_result *r) {
    const mkv_hparams *hp = mkv_model_hparams(model);
    const double mib = 1024.0 * 1024.0;
    char kept[160] = "";
    if (r->kv_kept_per_layer) {
        double full = (double)r->n_prompt * hp->n_layers * hp->n_kv_heads;
        snprintf(kept, sizeof kept, "KV kept %lld of %.0f prompt pairs (%.1f%%), ", (long long)r->kv_prompt_kept, full,
                 full > 0 ? 100.0 * (double)r->kv_prompt_kept / full : 0);
    }
    fprintf(stderr, "stats: %d prompt tokens, %s%.1f MiB of KV at the peak; %.2f s (prefill %.2f s, %d steps); peak RSS %.1f MiB\n",
            r->n_prompt, kept, (double)r->kv_bytes_peak / mib, r->seconds, r->first_step_seconds, r->steps_run,
            (double)mkv_peak_rss_bytes() / mib);
}

mkv_status cmd_generate(int argc, char **argv) {
    const char *model_path = NULL, *prompt_text = NULL, *prompt_file = NULL, *ids_text = NULL, *profile_path = NULL;
    const char *ids_file = NULL, *answer_prefix = NULL, *system_text = NULL, *messages_file = NULL, *template_file = NULL;
    bool print_prompt = false;
    const char *cache_name = "none";
    bool chat = false, json = false, visual = false, note_online = false, force_progress = false, stats = false;
    int select = -1, layer_alloc = -1, head_alloc = -1;
    mkv_gen_params p;
    mkv_gen_params_defaults(&p);
    mkv_cache_config overrides = p.cache;
    static const char *const remask_names[] = {"low_confidence", "random"};
    static const char *const alg_names[] = {"origin", "maskgit_plus", "topk_margin", "entropy"};
    static const char *const select_names[] = {"maskvote", "snapkv", "streaming", "random", "full"};
    static const char *const layer_names[] = {"uniform", "pyramid", "squeeze", "boundary", "boundary-online"};
    static const char *const head_names[] = {"uniform", "adakv", "preference"};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage();
            return MKV_OK;
        }
        if (!strcmp(a, "--chat")) { chat = true; continue; }
        if (!strcmp(a, "--print-prompt")) { print_prompt = true; continue; }
        if (!strcmp(a, "--json")) { json = true; continue; }
        if (!strcmp(a, "--visual")) { visual = true; continue; }
        if (!strcmp(a, "--progress")) { force_progress = true; continue; }
        if (!strcmp(a, "--stats")) { stats = true; continue; }
        if (!strcmp(a, "--no-eos")) { p.forbid_eos = true; continue; }
        if (!strcmp(a, "--no-eot")) { p.forbid_eot = true; continue; }
        const char *v = mkv_arg_next(argc, argv, &i); /* NULL: checked once the flag is known */
        double f;
        int choice;
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) model_path = v;
        else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) prompt_text = v;
        else if (!strcmp(a, "-f") || !strcmp(a, "--file")) prompt_file = v;
        else if (!strcmp(a, "--ids")) ids_text = v;
        else if (!strcmp(a, "--ids-file")) ids_file = v;
        else if (!strcmp(a, "--answer-prefix")) answer_prefix = v;
        else if (!strcmp(a, "--system")) system_text = v, chat = true;
        else if (!strcmp(a, "--messages")) messages_file = v, chat = true;
        else if (!strcmp(a, "--chat-template-file")) template_file = v;
        else if (!strcmp(a, "--ctx-size") || !strcmp(a, "-c")) { if (!mkv_parse_int(a, v, 1, 1 << 24, &p.ctx_size)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--gen-len")) { if (!mkv_parse_int(a, v, 0, 1 << 20, &p.gen_len)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--steps")) { if (!mkv_parse_int(a, v, 0, 1 << 20, &p.steps)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--block-len")) { if (!mkv_parse_int(a, v, 0, 1 << 20, &p.block_len)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--remasking")) {
            if (!parse_choice(a, v, remask_names, 2, &choice)) return MKV_ERR_USAGE;
            p.remasking = (mkv_remasking)choice;
        } else if (!strcmp(a, "--alg")) {
            if (!parse_choice(a, v, alg_names, 4, &choice)) return MKV_ERR_USAGE;
            p.alg = (mkv_dream_alg)choice;
        } else if (!strcmp(a, "--temp")) { if (!mkv_parse_float(a, v, 0, 100, &p.temperature)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--top-p")) { if (!mkv_parse_float(a, v, 1e-9, 1, &p.top_p)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--top-k")) { if (!mkv_parse_int(a, v, 0, 1 << 30, &p.top_k)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--alg-temp")) { if (!mkv_parse_float(a, v, 0, 100, &p.alg_temp)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--eps")) { if (!mkv_parse_float(a, v, 1e-9, 0.999, &p.eps)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--cfg")) { if (!mkv_parse_float(a, v, 0, 100, &p.cfg)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--threshold")) { if (!mkv_parse_float(a, v, 0, 0.999999, &p.threshold)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--seed")) { if (!mkv_parse_u64(a, v, &p.seed)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--cache")) cache_name = v;
        else if (!strcmp(a, "--prompt-refresh")) { if (!mkv_parse_int(a, v, 0, 1 << 30, &overrides.prompt_refresh)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--response-refresh")) { if (!mkv_parse_int(a, v, 1, 1 << 30, &overrides.response_refresh)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--transfer-ratio")) { if (!mkv_parse_float(a, v, 0, 1, &overrides.transfer_ratio)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--select")) { if (!parse_choice(a, v, select_names, 5, &select)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--layer-alloc")) { if (!parse_choice(a, v, layer_names, 5, &layer_alloc)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--head-alloc")) { if (!parse_choice(a, v, head_names, 3, &head_alloc)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--budget")) { if (!mkv_parse_int(a, v, 1, 1 << 30, &overrides.evict.budget)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--alpha")) { if (!mkv_parse_float(a, v, 0, 1, &overrides.evict.alpha)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--beta")) { if (!mkv_parse_float(a, v, 0, 1, &overrides.evict.beta)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--window")) { if (!mkv_parse_int(a, v, 1, 1 << 20, &overrides.evict.window)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--pool-kernel")) { if (!mkv_parse_int(a, v, 1, 1025, &overrides.evict.pool_kernel)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--boundary-size")) { if (!mkv_parse_int(a, v, 1, 1 << 10, &overrides.evict.boundary_size)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--profile")) profile_path = v;
        else if (!strcmp(a, "--threads") || !strcmp(a, "-t")) { if (!mkv_apply_threads(v)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--max-memory")) {
            size_t bytes;
            if (!mkv_parse_bytes(a, v, &bytes)) return MKV_ERR_USAGE;
            mkv_alloc_set_limit(bytes);
        } else return mkv_fail(MKV_ERR_USAGE, "unknown option '%s' (see maskkv generate --help)", a);
        if (!v) return mkv_arg_missing(a);
        (void)f;
    }
    if (!model_path) return mkv_fail(MKV_ERR_USAGE, "-m MODEL is required");
    if (!!prompt_text + !!(prompt_file && !messages_file) + !!ids_text + !!ids_file + !!messages_file != 1)
        return mkv_fail(MKV_ERR_USAGE, "give exactly one of -p TEXT, -f FILE, --messages FILE, --ids \"...\" or --ids-file FILE");
    if (chat && (ids_text || ids_file)) return mkv_fail(MKV_ERR_USAGE, "--chat/--system need a text prompt, not token ids");
    if (!mkv_apply_cache_preset(cache_name, &p.cache)) return MKV_ERR_USAGE;
    p.cache.prompt_refresh = overrides.prompt_refresh;
    p.cache.response_refresh = overrides.response_refresh;
    p.cache.transfer_ratio = overrides.transfer_ratio;
    mkv_evict_config *e = &p.cache.evict;
    e->budget = overrides.evict.budget;
    e->alpha = overrides.evict.alpha;
    e->beta = overrides.evict.beta;
    e->window = overrides.evict.window;
    e->pool_kernel = overrides.evict.pool_kernel;
    e->boundary_size = overrides.evict.boundary_size;
    e->seed = p.seed;
    if (select >= 0 || layer_alloc >= 0 || head_alloc >= 0) {
        if (p.cache.mode != MKV_CACHE_EVICT) {
            p.cache.mode = MKV_CACHE_EVICT;
            cache_name = "custom";
        }
        if (select >= 0) e->selector = (mkv_selector)select;
        if (layer_alloc >= 0) e->layer_alloc = (mkv_layer_alloc)layer_alloc;
        if (head_alloc >= 0) e->head_alloc = (mkv_head_alloc)head_alloc;
    }

    char default_profile[1100];
    mkv_model *model = NULL;
    char *file_text = NULL, *chat_text = NULL, *answer_text = NULL, *prefixed_text = NULL, *template_text = NULL;
    int32_t *prompt = NULL;
    int n_prompt = 0;
    mkv_profile profile = {0};
    mkv_gen_result result = {0};
    mkv_status st = mkv_model_load(model_path, &model);
    if (st != MKV_OK) goto done;
    const mkv_tokenizer *tok = mkv_model_tokenizer(model);
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
        const char *text = prompt_text ? prompt_text : "";
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
        if (template_file && (st = mkv_chat_read_template(template_file, &template_text)) != MKV_OK) goto done;
        if (chat) {
            mkv_chat_template tmpl = mkv_model_chat_template(model, template_text);
            if ((st = chat_prompt_of(&tmpl, system_text, messages_file, prompt_file ? text : NULL,
                                     messages_file ? NULL : text, &chat_text)) != MKV_OK) goto done;
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
        if (print_prompt) {
            printf("%s", text);
            goto done;
        }
        if ((st = mkv_tokenize(tok, text, strlen(text), true, &prompt, &n_prompt)) != MKV_OK) goto done;
        if (n_prompt == 0) {
            st = mkv_fail(MKV_ERR_INPUT, "the prompt is empty");
            goto done;
        }
    }
    /* parameters first: a refused request prints its error and nothing else */
    if ((st = mkv_gen_validate(model, &p, n_prompt)) != MKV_OK) goto done;
    if (p.cache.mode == MKV_CACHE_EVICT && e->layer_alloc == MKV_LAYERS_BOUNDARY && !profile_path) {
        if (mkv_default_profile_path(model_path, default_profile, sizeof default_profile)) profile_path = default_profile;
        else {
            e->layer_alloc = MKV_LAYERS_BOUNDARY_ONLINE;
            note_online = !json; /* printed once the request has run: an error stays one line */
        }
    }
    if (profile_path) {
        if ((st = mkv_profile_load(profile_path, model, &profile)) != MKV_OK) goto done;
        e->layer_importance = profile.layer_importance;
    }
    /* the refusals first, so that a refused run prints no warning */
    if ((st = mkv_gen_validate(model, &p, n_prompt)) != MKV_OK || (st = mkv_gen_check_memory(model, &p, n_prompt)) != MKV_OK)
        goto done;
    mkv_warn_past_context("generate", n_prompt + p.gen_len, model->hp.n_ctx, p.ctx_size);
    progress_state progress = {.visual = visual, .tokenizer = tok, .mask_id = model->hp.mask_id};
    mkv_progress_init(&progress.bar, force_progress, json);
    mkv_progress_phase(&progress.bar, "prefill");
    p.on_step = show_progress;
    p.on_step_ctx = &progress;
    p.on_layer = show_layer;
    p.on_layer_ctx = &progress;
    if ((st = mkv_generate(model, prompt, n_prompt, &p, &result)) != MKV_OK) goto done;
    mkv_progress_finish(&progress.bar);
    if (visual && progress.bar.enabled && progress.bar.terminal) fprintf(stderr, "\n\n");
    if (note_online)
        fprintf(stderr, "maskkv generate: note: no --profile (and no %s): layer budgets measured on this request (boundary-online)\n",
                default_profile);
    int answer_len = mkv_answer_length(model, result.tokens + n_prompt, p.gen_len);
    /* ids the tokenizer lacks (model vocabulary larger than the tokenizer's)
     * decode to nothing, as in HF; the text is valid UTF-8 (HF decode's U+FFFD) */
    size_t answer_bytes = 0;
    int n_unknown = 0;
    if (tok && (st = mkv_detokenize_output(tok, result.tokens + n_prompt, answer_len, 0, &answer_text, &answer_bytes,
                                           &n_unknown)) != MKV_OK)
        goto done;
    if (stats) print_summary(model, &result);
    if (json) {
        print_json(model, &p, &result, answer_text, answer_bytes, n_unknown, answer_len, cache_name);
    } else if (answer_text) {
        fwrite(answer_text, 1, answer_bytes, stdout);
        fputc('\n', stdout);
    } else {
        for (int i = 0; i < answer_len; i++) printf("%s%d", i ? " " : "", result.tokens[n_prompt + i]);
        printf("\n");
    }
done:
    mkv_gen_result_free(&result);
    mkv_free(answer_text);
    mkv_free(prompt);
    mkv_free(chat_text);
    mkv_free(template_text);
    mkv_free(prefixed_text);
    mkv_free(file_text);
    mkv_profile_free(&profile);
    if (model) mkv_model_free(model);
    return st;
}
