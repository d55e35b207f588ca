/* The command-line parsers: cli/args.c (integers, floats, sizes, id lists)
 * on every argument, and each sub-command's option parsing on the whole
 * argument vector. The input is NUL-separated: "generate\0-m\0x\0-p\0Hi\0...".
 * The value after every path option (-m, -f, -o, --profile, --data, ...) is
 * replaced by a path that does not exist, so a command stops at its first
 * file access (model load, prompt file): this target covers argument
 * handling, not the engine. */
#include <omp.h>

#include "args.h"
#include "commands.h"
#include "fuzz_common.h"

#define MAX_ARGS 64
#define MISSING_PATH "/nonexistent/maskkv-fuzz/missing"

static const struct {
    const char *name;
    mkv_status (*run)(int, char **);
} commands[] = {
    {"generate", cmd_generate}, {"forward", cmd_forward},     {"tokenize", cmd_tokenize}, {"detokenize", cmd_detokenize},
    {"info", cmd_info},         {"calibrate", cmd_calibrate}, {"convert", cmd_convert},   {"eval", cmd_eval},
    {"chat", cmd_chat},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static const char *const path_options[] = {"-m", "--model", "-f", "--file", "-o", "--out", "--output", "--logits-out",
                                           "--profile", "-i", "--input", "--data", "--messages", "--chat-template-file"};

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    /* --help texts and results go to stdout: keep the fuzzer's output readable. */
    if (!freopen("/dev/null", "w", stdout)) exit(1);
    return 0;
}

static volatile unsigned char sink;

static void parse_each(const char *arg) {
    long l;
    int i;
    double d;
    size_t bytes;
    int32_t *ids = NULL;
    int n = 0;
    if (mkv_parse_long("--x", arg, -1000, 1000, &l)) FUZZ_ASSERT(l >= -1000 && l <= 1000, "long %ld out of range", l);
    else fuzz_check_error(mkv_last_status());
    if (mkv_parse_int("--x", arg, 0, 1 << 20, &i)) FUZZ_ASSERT(i >= 0 && i <= 1 << 20, "int %d out of range", i);
    if (mkv_parse_float("--x", arg, 1e-9, 1, &d)) FUZZ_ASSERT(d >= 1e-9 && d <= 1, "float %g out of range", d);
    if (mkv_parse_bytes("--x", arg, &bytes)) sink ^= (unsigned char)bytes;
    else fuzz_check_error(mkv_last_status());
    if (mkv_parse_id_list("--ids", arg, &ids, &n)) {
        FUZZ_ASSERT(n > 0 && ids, "empty id list accepted");
        for (int k = 0; k < n; k++) FUZZ_ASSERT(ids[k] >= 0, "negative id %d", ids[k]);
        mkv_free(ids);
    } else {
        FUZZ_ASSERT(ids == NULL && n == 0, "id list returned with an error");
        fuzz_check_error(mkv_last_status());
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0 || size > 4096) return 0;
    size_t before = mkv_alloc_current_bytes();
    char *buf = fuzz_strndup(data, size);
    char *argv[MAX_ARGS + 1];
    int argc = 0;
    for (size_t pos = 0; pos <= size && argc < MAX_ARGS;) {
        argv[argc++] = buf + pos;
        pos += strlen(buf + pos) + 1;
    }
    argv[argc] = NULL;
    for (int i = 0; i < argc; i++) parse_each(argv[i]);

    for (int i = 0; i + 1 < argc; i++)
        for (size_t k = 0; k < sizeof path_options / sizeof path_options[0]; k++)
            if (!strcmp(argv[i], path_options[k])) argv[i + 1] = (char *)MISSING_PATH;

    size_t which = N_COMMANDS;
    for (size_t k = 0; k < N_COMMANDS; k++)
        if (!strcmp(argv[0], commands[k].name)) which = k;
    if (which == N_COMMANDS) which = (unsigned char)argv[0][0] % N_COMMANDS;
    mkv_clear_error();
    mkv_status st = commands[which].run(argc - 1, argv + 1);
    fuzz_check_error(st);
    /* Only argument errors and the missing file can stop a command here. */
    FUZZ_ASSERT(st == MKV_OK || st == MKV_ERR_USAGE || st == MKV_ERR_IO || st == MKV_ERR_INPUT || st == MKV_ERR_NOMEM,
                "%s: status %d: %s", commands[which].name, (int)st, mkv_last_error());
    mkv_alloc_set_limit(0);
    omp_set_num_threads(1);
    free(buf);
    FUZZ_CHECK_NO_COUNTED_LEAK(before);
    return 0;
}
