/* `maskkv` — the command-line entry point: dispatches to a sub-command and
 * turns a failure into one line on stderr and a non-zero exit code. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"

static const mkv_command commands[] = {
    {"info", cmd_info, "describe a model (.gguf file or HF directory)"},
    {"convert", cmd_convert, "convert an HF checkpoint directory to GGUF"},
    {"tokenize", cmd_tokenize, "print the token ids of a text"},
    {"detokenize", cmd_detokenize, "print the text of token ids"},
    {"forward", cmd_forward, "run the transformer on token ids and write logits"},
    {"generate", cmd_generate, "generate text by masked-diffusion denoising"},
    {"chat", cmd_chat, "an interactive conversation (line editing, history, /reset, /file)"},
    {"eval", cmd_eval, "accuracy of cache policies on retrieval tasks (needle, recall)"},
    {"calibrate", cmd_calibrate, "measure per-layer importance for MaskKV's offline layer budgets"},
    {"serve", cmd_serve, "OpenAI-compatible HTTP server (chat/completions, streaming, metrics)"},
};

static void usage(FILE *out) {
    fprintf(out, "usage: maskkv <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n`maskkv <command> --help` describes a command's options; `maskkv --version` prints the version.\n"
                 "example: maskkv generate -m models/llada-tiny-retrieval.gguf --chat -f models/example-niah.txt --cache maskkv --budget 64 --gen-len 16 --steps 16 --block-len 16\n");
}

/* A command killed by SIGINT/SIGTERM/SIGHUP leaves no temporary output file
 * behind (the target itself is only ever replaced by a complete file). */
static void remove_temps_and_die(int sig) {
    mkv_safe_remove_temps_signal_safe();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_signal_handlers(void) {
    static const int fatal[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++) {
        struct sigaction sa = {0};
        sa.sa_handler = remove_temps_and_die;
        sigemptyset(&sa.sa_mask);
        sigaction(fatal[i], &sa, NULL);
    }
    /* Past `ulimit -f` a write then fails with EFBIG and is reported (and the
     * temporary file removed) instead of the process dying of SIGXFSZ. */
    signal(SIGXFSZ, SIG_IGN);
}

int main(int argc, char **argv) {
    install_signal_handlers();
    if (argc < 2) {
        usage(stderr);
        return MKV_ERR_USAGE;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-v") || !strcmp(argv[1], "version")) {
        printf("maskkv %s\n", MKV_VERSION_STRING);
        return 0;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) != 0) continue;
        mkv_clear_error();
        mkv_status status = commands[i].run(argc - 2, argv + 2);
        if (status != MKV_OK) {
            const char *message = mkv_last_error();
            fprintf(stderr, "maskkv %s: error: %s\n", commands[i].name, message[0] ? message : "failed");
        }
        return (int)status;
    }
    fprintf(stderr, "maskkv: error: unknown command '%s' (try `maskkv --help`)\n", argv[1]);
    return MKV_ERR_USAGE;
}
