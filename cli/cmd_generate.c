/* maskkv generate: masked-diffusion generation with a choice of cache modes
 * and prompt-KV eviction policies. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "chat_prompt.h"
#include "commands.h"
#include "gen_options.h"
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
        "  --system TEXT          a system message first (implies --chat; none: the template's default)\n"
        "  --messages FILE.json   the conversation, [{\"role\": \"system|user|assistant\", \"content\": \"...\"}, ...],\n"
        "                         rendered by the model's chat template (implies --chat); with -f DOC,\n"
        "                         DOC goes before the text of the last user message (DOC, a blank line, the text)\n"
        "  --chat-template-file F the Jinja chat template in F instead of the model's (the model's)\n"
        "  --print-prompt         print the prompt text (after the chat template) and exit\n"
        "  --answer-prefix TEXT   start the answer with TEXT (after the chat template's\n"
        "                         assistant header); only the rest is generated and printed (none)\n");
    gen_options_usage(stdout);
    printf(
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
    fprintf(stderr,
            "stats: %d prompt tokens, %s%.1f MiB of %s KV at the peak (%s compute); %.2f s (prefill %.2f s, %d steps); "
            "peak RSS %.1f MiB\n",
            r->n_prompt, kept, (double)r->kv_bytes / mib, r->kv_dtype, r->compute, r->seconds, r->prefill_seconds, r->steps,
            (double)mkv_peak_rss_bytes() / mib);
}

mkv_status cmd_generate(int argc, char **argv) {
    const char *model_path = NULL, *prompt_text = NULL, *prompt_file = NULL, *ids_text = NULL;
    const char *ids_file = NULL, *answer_prefix = NULL, *system_text = NULL, *messages_file = NULL, *template_file = NULL;
    bool chat = false, json = false, visual = false, force_progress = false, stats = false, print_prompt = false;
    gen_options o;
    gen_options_init(&o);
    mkv_status st = MKV_OK;
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
        if (gen_options_switch(&o, a, &st)) {
            if (st != MKV_OK) return st;
            continue;
        }
        const char *v = mkv_arg_next(argc, argv, &i); /* NULL: checked once the flag is known */
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) model_path = v;
        else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) prompt_text = v;
        else if (!strcmp(a, "-f") || !strcmp(a, "--file")) prompt_file = v;
        else if (!strcmp(a, "--ids")) ids_text = v;
        else if (!strcmp(a, "--ids-file")) ids_file = v;
        else if (!strcmp(a, "--answer-prefix")) answer_prefix = v;
        else if (!strcmp(a, "--system")) system_text = v, chat = true;
        else if (!strcmp(a, "--messages")) messages_file = v, chat = true;
        else if (!strcmp(a, "--chat-template-file")) template_file = v;
        else if (gen_options_value(&o, a, v, &st)) {
            if (st != MKV_OK) return st;
        } else return mkv_fail(MKV_ERR_USAGE, "unknown option '%s' (see maskkv generate --help)", a);
        if (!v) return mkv_arg_missing(a);
    }
    if (!model_path) return mkv_fail(MKV_ERR_USAGE, "-m MODEL is required");
    if (!!prompt_text + !!(prompt_file && !messages_file) + !!ids_text + !!ids_file + !!messages_file != 1)
        return mkv_fail(MKV_ERR_USAGE, "give exactly one of -p TEXT, -f FILE, --messages FILE, --ids \"...\" or --ids-file FILE");
    if (chat && (ids_text || ids_file)) return mkv_fail(MKV_ERR_USAGE, "--chat/--system need a text prompt, not token ids");
    if ((st = gen_options_finish(&o)) != MKV_OK) return st;
    mkv_gen_params p = o.params;
    bool boundary_requested = p.cache.mode == MKV_CACHE_EVICT && p.cache.evict.layer_alloc == MKV_LAYERS_BOUNDARY;

    mkv_model *model = NULL;
    char *file_text = NULL, *chat_text = NULL, *prefixed_text = NULL, *template_text = NULL;
    int32_t *prompt = NULL;
    int n_prompt = 0;
    mkv_gen_result *result = NULL;
    /* the header first: a request too big for the machine is refused before
     * the weights are mapped */
    st = mkv_model_load_header(model_path, &o.model, &model);
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
            if ((st = chat_prompt_of(model, template_text, system_text, messages_file,
                                     messages_file && prompt_file ? text : NULL, messages_file ? NULL : text,
                                     &chat_text)) != MKV_OK)
                goto done;
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
            fputs(text, stdout);
            goto done;
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
    mkv_free(template_text);
    mkv_free(prefixed_text);
    mkv_free(file_text);
    mkv_model_free(model);
    return st;
}
