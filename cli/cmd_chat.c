/* maskkv chat: an interactive conversation with a model, as llama.cpp's
 * `llama-cli -cnv`. Each turn re-renders the whole conversation through the
 * model's chat template and denoises a new answer, shown as it unmasks; on a
 * terminal the input line has libedit's editing and history, Ctrl-C cancels
 * the answer being generated (or clears the line), /reset, /file PATH, /exit
 * and Ctrl-D. Piped stdin: one line per user turn, only the answers on
 * stdout, SIGINT ends it as any command. */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "chat_prompt.h"
#include "commands.h"
#include "gen_options.h"
#include "line_input.h"
#include "live_text.h"

static void usage(void) {
    printf("usage: maskkv chat -m MODEL [-f DOC] [--system TEXT] [options]\n"
           "An interactive conversation: each line you type is a user turn; the whole\n"
           "conversation goes through the model's chat template and the answer is shown\n"
           "as it unmasks. Ctrl-C cancels an answer (at the prompt: clears the line);\n"
           "Ctrl-D or /exit ends. Piped input: one line per turn, the answers on stdout (Ctrl-C ends it).\n"
           "commands:\n"
           "  /reset                 forget the conversation (the -f document comes back for the next turn)\n"
           "  /file PATH             put the text of PATH before your next message\n"
           "  /exit                  end the chat (also /quit, Ctrl-D)\n"
           "chat:\n"
           "  -m, --model PATH       .gguf file or HF checkpoint directory (required)\n"
           "  -f, --file DOC         a document put before the first message (DOC, a blank line, the message)\n"
           "  --system TEXT          a system message first (none: the template's default)\n"
           "  --chat-template-file F the Jinja chat template in F instead of the model's (the model's)\n"
           "  --answer-prefix TEXT   every answer starts with TEXT (after the assistant header): only the rest\n"
           "                         is generated; the answer shown and kept is TEXT and the rest (none)\n"
           "  --verbose-prompt       print each rendered prompt on stderr before its answer (off)\n"
           "  --plain                read plain lines even on a terminal: no line editing, no live answer (off)\n");
    gen_options_usage(stdout);
    printf("example: maskkv chat -m models/llada-tiny-retrieval.gguf -f models/example-niah.txt --gen-len 16 --block-len 16 "
           "--steps 16\n");
}

/* The answer on the terminal while it is generated. */
typedef struct {
    bool live;          /* redraw the answer on the terminal */
    bool prefill_done;
    const char *prefix; /* --answer-prefix, shown before the generated text ("" when none) */
    live_text view;
} answer_view;

static int on_layer(void *ctx, int layer, int n_layers, int n_rows) {
    answer_view *v = ctx;
    (void)n_rows;
    if (interrupt_pending()) return 1; /* a long prefill stops too */
    if (v->prefill_done || !v->live) return 0;
    char line[64];
    int n = snprintf(line, sizeof line, "(reading: layer %d of %d)", layer + 1, n_layers);
    live_text_draw(&v->view, line, (size_t)n);
    return 0;
}

/* After each denoising step: the answer so far up to its end (masks as
 * "_"), unless Ctrl-C asked to stop. */
static int on_step(const mkv_step_info *info, void *ctx) {
    answer_view *v = ctx;
    v->prefill_done = true;
    if (interrupt_pending()) return 1;
    if (!v->live) return 0;
    mkv_step_info shown = *info;
    shown.gen_len = mkv_answer_length(info->model, info->answer, info->gen_len);
    char *text = NULL;
    size_t len = 0, n_prefix = strlen(v->prefix);
    if (mkv_step_text(&shown, false, "_", &text, &len) != MKV_OK) return 0; /* nothing shown this step */
    char *line = mkv_malloc(n_prefix + len + 1, "answer line");
    if (line) {
        memcpy(line, v->prefix, n_prefix);
        memcpy(line + n_prefix, text, len);
        live_text_draw(&v->view, line, n_prefix + len);
    }
    mkv_free(line);
    mkv_free(text);
    return 0;
}

typedef struct {
    mkv_model *model;
    const char *template_text; /* --chat-template-file, or NULL */
    const char *answer_prefix; /* --answer-prefix, or NULL */
    mkv_gen_params params;
    mkv_chat_conversation *conversation;
    int n_fixed;               /* the system message, kept by /reset */
    const char *doc_path;      /* -f */
    char *doc;                 /* the document for the next user turn, or NULL */
    bool interactive, verbose_prompt;
} chat_session;

/* The rendered, tokenized prompt of the conversation, checked against the
 * request's limits. */
static mkv_status prompt_of(chat_session *s, int32_t **prompt, int *n_prompt) {
    char *text = NULL;
    mkv_status st = chat_render(s->model, s->template_text, s->conversation, "chat", &text);
    if (st == MKV_OK && s->answer_prefix) {
        size_t n_text = strlen(text), n_prefix = strlen(s->answer_prefix);
        char *joined = mkv_malloc(n_text + n_prefix + 1, "prompt with answer prefix");
        if (joined) {
            memcpy(joined, text, n_text);
            memcpy(joined + n_text, s->answer_prefix, n_prefix + 1);
        }
        mkv_free(text);
        text = joined;
        if (!joined) st = mkv_last_status();
    }
    if (st == MKV_OK && s->verbose_prompt) {
        fprintf(stderr, "--- prompt ---\n%s\n--- end of prompt ---\n", text);
        fflush(stderr);
    }
    if (st == MKV_OK) st = mkv_tokenize(mkv_model_tokenizer(s->model), text, strlen(text), true, prompt, n_prompt);
    if (st == MKV_OK) st = mkv_gen_check(s->model, &s->params, *n_prompt);
    mkv_free(text);
    return st;
}

/* Shows the final answer (the answer prefix and the generated text) and adds
 * it to the conversation. */
static mkv_status finish_answer(chat_session *s, answer_view *view, const mkv_gen_result *result) {
    size_t len = 0;
    const char *generated = mkv_gen_result_text(result, &len);
    if (memchr(generated, '\0', len)) len = strlen(generated); /* a NUL token: the message is a C string */
    size_t n_prefix = s->answer_prefix ? strlen(s->answer_prefix) : 0;
    char *text = mkv_malloc(n_prefix + len + 1, "answer");
    if (!text) return mkv_last_status();
    memcpy(text, s->answer_prefix ? s->answer_prefix : "", n_prefix);
    memcpy(text + n_prefix, generated, len);
    text[n_prefix + len] = '\0';
    if (s->interactive) {
        live_text_draw(&view->view, text, n_prefix + len);
        live_text_end(&view->view);
    } else {
        fwrite(text, 1, n_prefix + len, stdout);
        fputc('\n', stdout);
        fflush(stdout);
    }
    mkv_status st = mkv_chat_add(s->conversation, "assistant", text);
    mkv_free(text);
    return st;
}

/* One user turn: the answer is printed and joins the conversation; a
 * cancelled or failed one leaves the conversation as it was. */
static mkv_status answer(chat_session *s, const char *line) {
    int32_t *prompt = NULL;
    int n_prompt = 0, keep = mkv_chat_n_messages(s->conversation);
    mkv_gen_result *result = NULL;
    mkv_status st = mkv_chat_add(s->conversation, "user", line);
    if (st == MKV_OK && s->doc) st = mkv_chat_prepend_document(s->conversation, keep, s->doc);
    if (st == MKV_OK) st = prompt_of(s, &prompt, &n_prompt);
    answer_view view = {.live = s->interactive, .prefix = s->answer_prefix ? s->answer_prefix : ""};
    live_text_start(&view.view, stdout);
    mkv_gen_params p = s->params;
    p.on_step = on_step, p.on_step_ctx = &view;
    p.on_layer = on_layer, p.on_layer_ctx = &view;
    if (st == MKV_OK) {
        interrupt_take();
        st = mkv_generate(s->model, prompt, n_prompt, &p, &result);
    }
    if (st == MKV_ERR_CANCELLED) {
        interrupt_take();
        mkv_clear_error();
        if (s->interactive) live_text_draw(&view.view, "(answer cancelled)", 18);
        st = MKV_OK;
        mkv_chat_truncate(s->conversation, keep);
    } else if (st == MKV_OK && (st = finish_answer(s, &view, result)) == MKV_OK) {
        mkv_free(s->doc); /* the document went with this turn */
        s->doc = NULL;
    } else {
        mkv_chat_truncate(s->conversation, keep);
    }
    live_text_end(&view.view);
    mkv_gen_result_free(result);
    mkv_free(prompt);
    return st;
}

static void say(const chat_session *s, const char *fmt, const char *arg) {
    FILE *out = s->interactive ? stdout : stderr; /* piped: stdout holds only the answers */
    fprintf(out, fmt, arg);
    fflush(out);
}

/* A line starting with '/'. */
static mkv_status command(chat_session *s, const char *line, bool *quit) {
    if (!strcmp(line, "/exit") || !strcmp(line, "/quit")) {
        *quit = true;
        return MKV_OK;
    }
    if (!strcmp(line, "/reset")) {
        mkv_chat_truncate(s->conversation, s->n_fixed);
        mkv_free(s->doc);
        s->doc = NULL;
        mkv_status st = s->doc_path ? mkv_chat_read_document(s->doc_path, &s->doc) : MKV_OK;
        if (st == MKV_OK) say(s, "(new conversation%s)\n", s->doc ? "; the document goes with the next message" : "");
        return st;
    }
    if (!strncmp(line, "/file", 5) && (line[5] == ' ' || line[5] == '\0')) {
        const char *path = line + 5;
        while (*path == ' ') path++;
        if (!*path) return mkv_fail(MKV_ERR_USAGE, "/file needs a PATH");
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

/* The session after the command line: model, document, system message. */
static mkv_status open_session(chat_session *s, const char *model_path, const gen_options *o, const char *system_text) {
    mkv_status st = mkv_chat_conversation_create(&s->conversation);
    if (st == MKV_OK && s->doc_path) st = mkv_chat_read_document(s->doc_path, &s->doc);
    if (st == MKV_OK) st = mkv_model_load_with(model_path, &o->model, &s->model);
    if (st == MKV_OK && !mkv_model_tokenizer(s->model))
        st = mkv_fail(MKV_ERR_UNSUPPORTED, "%s has no tokenizer: chat needs text", model_path);
    if (st == MKV_OK) st = mkv_gen_check(s->model, &s->params, 1); /* the parameters before the first line */
    if (st == MKV_OK && system_text) st = mkv_chat_add(s->conversation, "system", system_text);
    s->n_fixed = st == MKV_OK ? mkv_chat_n_messages(s->conversation) : 0;
    return st;
}

mkv_status cmd_chat(int argc, char **argv) {
    const char *model_path = NULL, *doc_path = NULL, *system_text = NULL, *template_file = NULL, *answer_prefix = NULL;
    bool plain = false, verbose_prompt = false;
    gen_options o;
    gen_options_init(&o);
    mkv_status st = MKV_OK;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage();
            return MKV_OK;
        }
        if (!strcmp(a, "--plain")) { plain = true; continue; }
        if (!strcmp(a, "--verbose-prompt")) { verbose_prompt = true; continue; }
        if (gen_options_switch(&o, a, &st)) {
            if (st != MKV_OK) return st;
            continue;
        }
        const char *v = mkv_arg_next(argc, argv, &i);
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) model_path = v;
        else if (!strcmp(a, "-f") || !strcmp(a, "--file")) doc_path = v;
        else if (!strcmp(a, "--system")) system_text = v;
        else if (!strcmp(a, "--chat-template-file")) template_file = v;
        else if (!strcmp(a, "--answer-prefix")) answer_prefix = v;
        else if (gen_options_value(&o, a, v, &st)) {
            if (st != MKV_OK) return st;
        } else return mkv_fail(MKV_ERR_USAGE, "unknown option '%s' (see maskkv chat --help)", a);
        if (!v) return mkv_arg_missing(a);
    }
    if (!model_path) return mkv_fail(MKV_ERR_USAGE, "-m MODEL is required");
    if ((st = gen_options_finish(&o)) != MKV_OK) return st;

    chat_session s = {.params = o.params, .doc_path = doc_path, .verbose_prompt = verbose_prompt,
                      .answer_prefix = answer_prefix};
    char *template_text = NULL;
    line_input *in = NULL;
    if (template_file) st = mkv_chat_read_template(template_file, &template_text);
    s.template_text = template_text;
    if (st == MKV_OK) st = open_session(&s, model_path, &o, system_text);
    if (st == MKV_OK) st = line_input_open(plain, &in);
    if (st == MKV_OK) {
        s.interactive = line_input_interactive(in);
        /* on a terminal Ctrl-C cancels an answer; a script's SIGINT ends the chat as it ends other commands */
        if (s.interactive) {
            printf("maskkv chat: %s; /reset, /file PATH, /exit or Ctrl-D; Ctrl-C cancels an answer\n", model_path);
            interrupt_install();
        }
        st = run_loop(&s, in);
        if (s.interactive) interrupt_restore();
    }
    line_input_close(in);
    mkv_chat_conversation_free(s.conversation);
    mkv_free(s.doc);
    mkv_free(template_text);
    mkv_model_free(s.model);
    return st;
}
