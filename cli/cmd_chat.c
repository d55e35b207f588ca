/* maskkv chat: an interactive conversation with a model, as llama.cpp's
 * `llama-cli -cnv`. Each turn re-renders the whole conversation through the
 * model's chat template and denoises a new answer, shown as it unmasks; on a
 * terminal the input line has libedit's editing and history, Ctrl-C cancels
 * the answer being generated (or clears the line), /reset, /file PATH, /exit
 * and Ctrl-D. Piped stdin: one line per user turn, only the answers on stdout. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "cache/profile.h"
#include "cache_presets.h"
#include "chat_prompt.h"
#include "commands.h"
#include "generate/generate.h"
#include "line_input.h"
#include "live_text.h"
#include "tokenizer/tokenizer.h"
#include "util/alloc.h"
#include "util/memory_budget.h"

static void usage(void) {
    printf("usage: maskkv chat -m MODEL [-f DOC] [--system TEXT] [options]\n"
           "  an interactive conversation: each line you type is a user turn; the whole\n"
           "  conversation goes through the model's chat template and the answer is shown\n"
           "  as it unmasks. Ctrl-C cancels an answer (at the prompt: clears the line);\n"
           "  Ctrl-D or /exit ends. Piped input: one line per turn, the answers on stdout.\n"
           "commands:\n"
           "  /reset                 forget the conversation (the -f document comes back for the next turn)\n"
           "  /file PATH             put the text of PATH before your next message\n"
           "  /exit                  end the chat (also /quit, Ctrl-D)\n"
           "options:\n"
           "  -f, --file DOC         a document put before the first message (DOC, a blank line, the message)\n"
           "  --system TEXT          system message (default: none, the template's own default)\n"
           "  --chat-template-file F use the Jinja chat template in F instead of the model's\n"
           "  --gen-len N            tokens per answer (128)\n"
           "  --steps N              denoising steps (128)\n"
           "  --block-len N          LLaDA semi-autoregressive block length (32)\n"
           "  --temp T               sampling temperature (0: greedy)\n"
           "  --seed S               random seed (0)\n"
           "  --cache MODE           none | prefix | dllm | maskkv | snapkv | pyramidkv | squeeze | adakv\n"
           "                         | streaming | random (none)\n"
           "  --budget B             eviction: prompt K/V pairs kept per head (see generate --help)\n"
           "  --threads N  --max-memory SIZE\n"
           "  --plain                read plain lines even on a terminal (no line editing)\n"
           "example:\n"
           "  maskkv chat -m models/llada-tiny-retrieval.gguf -f models/example-niah.txt \\\n"
           "      --gen-len 8 --block-len 8 --steps 8\n");
}

typedef struct {
    const mkv_model *model;
    const mkv_tokenizer *tok;
    bool live;           /* redraw the answer on the terminal */
    bool prefill_done;
    live_text view;
} answer_view;

static void show_text(answer_view *v, const char *text, size_t len) {
    if (v->live) live_text_draw(&v->view, text, len);
}

static void on_layer(void *ctx, int layer, int n_layers, int n_rows) {
    answer_view *v = ctx;
    (void)n_rows;
    if (v->prefill_done || !v->live) return;
    char line[64];
    int n = snprintf(line, sizeof line, "(reading: layer %d of %d)", layer + 1, n_layers);
    show_text(v, line, (size_t)n);
}

/* After each denoising step: the answer so far (masks as "_"), unless
 * Ctrl-C asked to stop. */
static bool on_step(void *ctx, int step, int total, const int32_t *tokens, int n_prompt, int n_total) {
    answer_view *v = ctx;
    (void)step, (void)total;
    v->prefill_done = true;
    if (interrupt_pending()) return false;
    if (!v->live) return true;
    int n = mkv_answer_length(v->model, tokens + n_prompt, n_total - n_prompt);
    char *text = NULL;
    size_t len = 0;
    if (mkv_detokenize_partial(v->tok, tokens + n_prompt, n, v->model->hp.mask_id, "_", &text, &len) == MKV_OK)
        show_text(v, text, len);
    mkv_free(text);
    return true;
}

typedef struct {
    mkv_model *model;
    mkv_chat_template tmpl;
    mkv_gen_params params;
    mkv_chat_conversation conversation;
    int n_fixed;          /* the system message, kept by /reset */
    const char *doc_path; /* -f */
    char *doc;            /* the document for the next user turn, or NULL */
    bool interactive;
} chat_session;

/* One user turn: the answer is printed and joins the conversation; a
 * cancelled one leaves the conversation as it was. */
static mkv_status answer(chat_session *s, const char *line) {
    char *content = NULL, *prompt_text = NULL, *text = NULL;
    int32_t *prompt = NULL;
    int n_prompt = 0, keep = s->conversation.n;
    mkv_gen_result result = {0};
    const mkv_tokenizer *tok = mkv_model_tokenizer(s->model);
    mkv_status st = s->doc ? mkv_chat_with_document(s->doc, line, &content) : MKV_OK;
    if (st == MKV_OK) st = mkv_chat_add(&s->conversation, "user", content ? content : line);
    if (st == MKV_OK) st = chat_render(&s->tmpl, &s->conversation, "chat", &prompt_text);
    if (st == MKV_OK) st = mkv_tokenize(tok, prompt_text, strlen(prompt_text), true, &prompt, &n_prompt);
    if (st == MKV_OK) st = mkv_gen_validate(s->model, &s->params, n_prompt);
    if (st == MKV_OK) st = mkv_gen_check_memory(s->model, &s->params, n_prompt);
    answer_view view = {.model = s->model, .tok = tok, .live = s->interactive};
    live_text_start(&view.view, stdout);
    mkv_gen_params p = s->params;
    p.on_step = on_step, p.on_step_ctx = &view;
    p.on_layer = on_layer, p.on_layer_ctx = &view;
    if (st == MKV_OK) {
        interrupt_take();
        st = mkv_generate(s->model, prompt, n_prompt, &p, &result);
    }
    size_t len = 0;
    if (st == MKV_OK && result.stopped) {
        interrupt_take();
        show_text(&view, "(answer cancelled)", 18);
        live_text_end(&view.view);
        if (!s->interactive) fprintf(stderr, "maskkv chat: answer cancelled\n");
        mkv_chat_truncate(&s->conversation, keep);
    } else if (st == MKV_OK) {
        int n = mkv_answer_length(s->model, result.tokens + n_prompt, s->params.gen_len);
        st = mkv_detokenize_output(tok, result.tokens + n_prompt, n, 0, &text, &len, NULL);
        if (st == MKV_OK && memchr(text, '\0', len)) len = strlen(text); /* a NUL token: the message is a C string */
        if (st == MKV_OK) {
            if (s->interactive) {
                show_text(&view, text, len);
                live_text_end(&view.view);
            } else {
                fwrite(text, 1, len, stdout);
                fputc('\n', stdout);
                fflush(stdout);
            }
            st = mkv_chat_add(&s->conversation, "assistant", text);
        }
        if (st == MKV_OK) {
            mkv_free(s->doc); /* the document went with this turn */
            s->doc = NULL;
        }
    }
    if (st != MKV_OK) {
        live_text_end(&view.view);
        mkv_chat_truncate(&s->conversation, keep);
    }
    mkv_gen_result_free(&result);
    mkv_free(prompt);
    mkv_free(prompt_text);
    mkv_free(content);
    mkv_free(text);
    return st;
}

static void say(const chat_session *s, const char *fmt, const char *arg) {
    FILE *out = s->interactive ? stdout : stderr; /* piped: stdout holds only the answers */
    fprintf(out, fmt, arg);
    fflush(out);
}

/* A line starting with '/': true when it was a command (handled). */
static mkv_status command(chat_session *s, const char *line, bool *quit) {
    if (!strcmp(line, "/exit") || !strcmp(line, "/quit")) {
        *quit = true;
        return MKV_OK;
    }
    if (!strcmp(line, "/reset")) {
        mkv_chat_truncate(&s->conversation, s->n_fixed);
        mkv_free(s->doc);
        s->doc = NULL;
        mkv_status st = s->doc_path ? mkv_chat_read_document(s->doc_path, &s->doc) : MKV_OK;
        if (st == MKV_OK) say(s, "(new conversation%s)\n", s->doc ? "; the document goes with the next message" : "");
        return st;
    }
    if (!strncmp(line, "/file", 5) && (line[5] == ' ' || line[5] == '\0')) {
        const char *path = line + 5;
        while (*path == ' ') path++;
        if (!*path) {
            say(s, "%s", "usage: /file PATH\n");
            return MKV_OK;
        }
        char *doc = NULL;
        mkv_status st = mkv_chat_read_document(path, &doc);
        if (st != MKV_OK) return st;
        mkv_free(s->doc);
        s->doc = doc;
        say(s, "(%s goes before your next message)\n", path);
        return MKV_OK;
    }
    if (!strcmp(line, "/help")) {
        say(s, "%s", "/reset: new conversation; /file PATH: a document before your next message; /exit or Ctrl-D: end\n");
        return MKV_OK;
    }
    return mkv_fail(MKV_ERR_USAGE, "unknown command '%.40s' (/reset, /file PATH, /exit, /help)", line);
}

static mkv_status run_loop(chat_session *s, line_input *in) {
    for (;;) {
        const char *line = line_input_read(in, "> ");
        if (!line) {
            if (s->interactive) fputc('\n', stdout);
            return MKV_OK;
        }
        while (*line == ' ' || *line == '\t') line++;
        if (!*line) continue;
        bool quit = false;
        mkv_status st = line[0] == '/' ? command(s, line, &quit) : answer(s, line);
        if (quit) return MKV_OK;
        if (st == MKV_OK) continue;
        if (!s->interactive) return st; /* a script learns of it by the exit status (main prints the error) */
        fprintf(stderr, "maskkv chat: error: %s\n", mkv_last_error());
        mkv_clear_error();
    }
}

/* MaskKV's boundary layer budgets need a profile: MODEL.profile.json when
 * there is one, else measured on each request (as generate does). */
static mkv_status use_default_profile(const char *model_path, const mkv_model *model, mkv_gen_params *p, mkv_profile *profile) {
    mkv_evict_config *e = &p->cache.evict;
    if (p->cache.mode != MKV_CACHE_EVICT || e->layer_alloc != MKV_LAYERS_BOUNDARY) return MKV_OK;
    char path[1100];
    if (!mkv_default_profile_path(model_path, path, sizeof path)) {
        e->layer_alloc = MKV_LAYERS_BOUNDARY_ONLINE;
        return MKV_OK;
    }
    mkv_status st = mkv_profile_load(path, model, profile);
    if (st == MKV_OK) e->layer_importance = profile->layer_importance;
    return st;
}

mkv_status cmd_chat(int argc, char **argv) {
    const char *model_path = NULL, *doc_path = NULL, *system_text = NULL, *template_file = NULL, *cache_name = "none";
    int budget = 0;
    bool plain = false;
    mkv_gen_params p;
    mkv_gen_params_defaults(&p);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage();
            return MKV_OK;
        }
        if (!strcmp(a, "--plain")) {
            plain = true;
            continue;
        }
        const char *v = mkv_arg_next(argc, argv, &i);
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) model_path = v;
        else if (!strcmp(a, "-f") || !strcmp(a, "--file")) doc_path = v;
        else if (!strcmp(a, "--system")) system_text = v;
        else if (!strcmp(a, "--chat-template-file")) template_file = v;
        else if (!strcmp(a, "--cache")) cache_name = v;
        else if (!strcmp(a, "--gen-len")) { if (!mkv_parse_int(a, v, 0, 1 << 20, &p.gen_len)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--steps")) { if (!mkv_parse_int(a, v, 0, 1 << 20, &p.steps)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--block-len")) { if (!mkv_parse_int(a, v, 0, 1 << 20, &p.block_len)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--temp")) { if (!mkv_parse_float(a, v, 0, 100, &p.temperature)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--seed")) { if (!mkv_parse_u64(a, v, &p.seed)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--budget")) { if (!mkv_parse_int(a, v, 1, 1 << 30, &budget)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--threads") || !strcmp(a, "-t")) { if (!mkv_apply_threads(v)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--max-memory")) {
            size_t bytes;
            if (!mkv_parse_bytes(a, v, &bytes)) return MKV_ERR_USAGE;
            mkv_alloc_set_limit(bytes);
        } else return mkv_fail(MKV_ERR_USAGE, "unknown option '%s' (see maskkv chat --help)", a);
        if (!v) return mkv_arg_missing(a);
    }
    if (!model_path) return mkv_fail(MKV_ERR_USAGE, "-m MODEL is required");
    if (!mkv_apply_cache_preset(cache_name, &p.cache)) return MKV_ERR_USAGE;
    if (budget) p.cache.evict.budget = budget;
    p.cache.evict.seed = p.seed;

    chat_session s = {.params = p, .doc_path = doc_path};
    char *template_text = NULL;
    line_input *in = NULL;
    mkv_profile profile = {0};
    mkv_status st = MKV_OK;
    if (template_file) st = mkv_chat_read_template(template_file, &template_text);
    if (st == MKV_OK && doc_path) st = mkv_chat_read_document(doc_path, &s.doc);
    if (st == MKV_OK) st = mkv_model_load(model_path, &s.model);
    if (st == MKV_OK && !mkv_model_tokenizer(s.model))
        st = mkv_fail(MKV_ERR_UNSUPPORTED, "%s has no tokenizer: chat needs text", model_path);
    if (st == MKV_OK) st = mkv_gen_validate(s.model, &s.params, 1); /* the parameters before the first line */
    if (st == MKV_OK) st = use_default_profile(model_path, s.model, &s.params, &profile);
    if (st == MKV_OK && system_text) st = mkv_chat_add(&s.conversation, "system", system_text);
    if (st == MKV_OK) st = line_input_open(plain, &in);
    if (st == MKV_OK) {
        s.n_fixed = s.conversation.n;
        s.tmpl = mkv_model_chat_template(s.model, template_text);
        s.interactive = line_input_interactive(in);
        if (s.interactive)
            printf("maskkv chat: %s; /reset, /file PATH, /exit or Ctrl-D; Ctrl-C cancels an answer\n", model_path);
        interrupt_install();
        st = run_loop(&s, in);
        interrupt_restore();
    }
    line_input_close(in);
    mkv_chat_free(&s.conversation);
    mkv_free(s.doc);
    mkv_free(template_text);
    mkv_profile_free(&profile);
    if (s.model) mkv_model_free(s.model);
    return st;
}
