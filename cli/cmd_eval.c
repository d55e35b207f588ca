/* maskkv eval: exact-match accuracy of cache policies on retrieval tasks
 * (mkv_eval_run, src/eval/eval.c), printed as a table or JSON, and saved
 * with --out. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "progress.h"

#define MAX_LIST 16

static void usage(void) {
    printf("usage: maskkv eval -m MODEL [options]\n"
           "Accuracy of cache policies on the retrieval tasks of a data directory (JSONL sets per\n"
           "task and length). 'full' is the uncompressed dLLM-Cache (prompt K/V kept whole); every\n"
           "other method evicts prompt K/V to the budget. Prints accuracy per method and budget and\n"
           "as a percentage of full.\n"
           "  -m, --model PATH       .gguf file or HF checkpoint directory (required)\n"
           "  --data DIR             the sets (MODEL without .gguf, plus '-eval')\n"
           "  --task LIST            niah,recall,two (all three)\n"
           "  --lengths LIST         prompt lengths (256,512,1024,2048)\n"
           "  --depths LIST          needle depths (0,0.25,0.5,0.75,1)\n"
           "  --budgets LIST         per-head budgets (16,32,64,128,256)\n"
           "  --methods LIST         full,maskkv,snapkv,pyramidkv,squeeze,adakv,streaming (these);\n"
           "                         also maskkv-revote (maskkv + cold store + re-vote, --revote)\n"
           "  --revote block|N       maskkv-revote: when to re-vote; eval runs one block, so every N\n"
           "                         steps (2)  --cold file|ram: where its cold store lives (file)\n"
           "  --samples N            samples per set (20)\n"
           "  --seed S               random seed (0)\n"
           "  --gen-len N            answer tokens; also steps and block length (8)\n"
           "  --steps N              denoising steps (= gen-len)\n"
           "  --profile FILE         layer importance for maskkv (MODEL.profile.json if present)\n"
           "  --prompt-refresh N (50)  --response-refresh N (5)  --transfer-ratio R (0.25)\n"
           "  -t, --threads N        threads (all cores)\n"
           "  --json                 one JSON object on stdout (off: a table)\n"
           "  --out DIR              also write results.json and results.csv (plots: tools/plot_eval.py)\n"
           "  -c, --ctx-size N       run prompts up to N tokens, past the trained context with a warning\n"
           "  --compute P            auto | f32 | bf16 matmul precision (auto: bf16 when the CPU has\n"
           "                         fast AVX-512-BF16, i.e. AMD, and the weights are bf16 or quantized)\n"
           "An answer counts when it equals the sample's; a sample with \"match\": \"codes\" (the\n"
           "bare-question sets) counts when it has the same numbers in the same order.\n"
           "example: maskkv eval -m models/llada-tiny-retrieval.gguf --task niah --lengths 256 --budgets 64 --methods full,maskkv --samples 4\n");
}

typedef struct {
    char text[MAX_LIST][32];
    int n;
} name_list;

static bool split_names(const char *flag, const char *text, name_list *out) {
    out->n = 0;
    const char *p = text;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0 || len >= sizeof out->text[0] || out->n == MAX_LIST) {
            mkv_fail(MKV_ERR_USAGE, "%s: bad list '%s'", flag, text);
            return false;
        }
        memcpy(out->text[out->n], p, len);
        out->text[out->n++][len] = '\0';
        p = comma ? comma + 1 : p + len;
    }
    if (out->n == 0) {
        mkv_fail(MKV_ERR_USAGE, "%s: empty list", flag);
        return false;
    }
    return true;
}

static bool split_ints(const char *flag, const char *text, int *values, int *n, int min, int max) {
    name_list names;
    if (!split_names(flag, text, &names)) return false;
    for (int i = 0; i < names.n; i++)
        if (!mkv_parse_int(flag, names.text[i], min, max, &values[i])) return false;
    *n = names.n;
    return true;
}

static bool split_doubles(const char *flag, const char *text, double *values, int *n) {
    name_list names;
    if (!split_names(flag, text, &names)) return false;
    for (int i = 0; i < names.n; i++)
        if (!mkv_parse_float(flag, names.text[i], 0, 1, &values[i])) return false;
    *n = names.n;
    return true;
}

/* Creates --out DIR and refuses result paths that are inputs, before any work. */
static mkv_status prepare_out_dir(const char *out_dir, const char *const *inputs, int n_inputs) {
    if (strlen(out_dir) > 1024) return mkv_fail(MKV_ERR_USAGE, "--out: path too long");
    if (mkdir(out_dir, 0755) != 0 && errno != EEXIST)
        return mkv_fail(MKV_ERR_IO, "%s: cannot create the directory: %s", out_dir, strerror(errno));
    struct stat sb;
    if (stat(out_dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) return mkv_fail(MKV_ERR_USAGE, "--out %s is not a directory", out_dir);
    static const char *const names[] = {"results.json", "results.csv"};
    for (int i = 0; i < 2; i++) {
        char path[1100];
        snprintf(path, sizeof path, "%s/%s", out_dir, names[i]);
        mkv_status st = mkv_output_check(path, inputs, n_inputs);
        if (st) return st;
    }
    return MKV_OK;
}

typedef struct {
    double start;
} progress_state;

static void show_run(void *ctx, int runs, const char *task, int length, const char *method, int budget) {
    const progress_state *p = ctx;
    if (isatty(STDERR_FILENO) || runs % 50 == 0)
        fprintf(stderr, "\reval: %s len %d %s B=%d: %d runs, %.0f s", task, length, method, budget, runs,
                mkv_cli_seconds() - p->start);
}

static void warn_context(void *ctx, int n_tokens, int n_ctx, int ctx_size) {
    (void)ctx;
    mkv_warn_past_context("eval", n_tokens, n_ctx, ctx_size);
}

mkv_status cmd_eval(int argc, char **argv) {
    const char *model_path = NULL, *data_dir = NULL, *out_dir = NULL, *profile_path = NULL;
    const char *tasks_text = "niah,recall,two", *methods_text = "full,maskkv,snapkv,pyramidkv,squeeze,adakv,streaming";
    const char *lengths_text = "256,512,1024,2048", *budgets_text = "16,32,64,128,256", *depths_text = "0,0.25,0.5,0.75,1";
    const char *revote_text = "2", *cold_text = "file";
    int samples = 20;
    bool json = false;
    mkv_model_params mp = mkv_model_params_default();
    mkv_gen_params base;
    mkv_gen_params_defaults(&base);
    base.gen_len = 8;
    base.steps = 8;
    base.block_len = 8;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage();
            return MKV_OK;
        }
        if (!strcmp(a, "--json")) { json = true; continue; }
        const char *v = mkv_arg_next(argc, argv, &i); /* NULL: checked once the flag is known */
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) model_path = v;
        else if (!strcmp(a, "--data")) data_dir = v;
        else if (!strcmp(a, "--out")) out_dir = v;
        else if (!strcmp(a, "--profile")) profile_path = v;
        else if (!strcmp(a, "--task") || !strcmp(a, "--tasks")) tasks_text = v;
        else if (!strcmp(a, "--methods")) methods_text = v;
        else if (!strcmp(a, "--revote")) revote_text = v;
        else if (!strcmp(a, "--cold")) cold_text = v;
        else if (!strcmp(a, "--lengths")) lengths_text = v;
        else if (!strcmp(a, "--budgets")) budgets_text = v;
        else if (!strcmp(a, "--depths")) depths_text = v;
        else if (!strcmp(a, "--samples")) { if (!mkv_parse_int(a, v, 1, 100000, &samples)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--seed")) { if (!mkv_parse_u64(a, v, &base.seed)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--gen-len")) { if (!mkv_parse_int(a, v, 1, 1 << 16, &base.gen_len)) return MKV_ERR_USAGE; base.block_len = base.gen_len; base.steps = base.gen_len; }
        else if (!strcmp(a, "--ctx-size") || !strcmp(a, "-c")) { if (!mkv_parse_int(a, v, 1, 1 << 24, &base.ctx_size)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--compute")) { if (!mkv_parse_compute(a, v, &base.compute)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--steps")) { if (!mkv_parse_int(a, v, 1, 1 << 16, &base.steps)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--prompt-refresh")) { if (!mkv_parse_int(a, v, 0, 1 << 30, &base.cache.prompt_refresh)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--response-refresh")) { if (!mkv_parse_int(a, v, 1, 1 << 30, &base.cache.response_refresh)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--transfer-ratio")) { if (!mkv_parse_float(a, v, 0, 1, &base.cache.transfer_ratio)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--threads") || !strcmp(a, "-t")) { if (!mkv_parse_threads(v, &mp.n_threads)) return MKV_ERR_USAGE; }
        else return mkv_fail(MKV_ERR_USAGE, "unknown option '%s' (see maskkv eval --help)", a);
        if (!v) return mkv_arg_missing(a);
    }
    if (!model_path) return mkv_fail(MKV_ERR_USAGE, "-m MODEL is required");
    name_list tasks, methods;
    int lengths[MAX_LIST], budgets[MAX_LIST], n_lengths, n_budgets, n_depths;
    double depths[MAX_LIST];
    if (!split_names("--task", tasks_text, &tasks) || !split_names("--methods", methods_text, &methods) ||
        !split_ints("--lengths", lengths_text, lengths, &n_lengths, 1, 1 << 24) ||
        !split_ints("--budgets", budgets_text, budgets, &n_budgets, 1, 1 << 24) ||
        !split_doubles("--depths", depths_text, depths, &n_depths))
        return MKV_ERR_USAGE;
    for (int m = 0; m < methods.n; m++) {
        mkv_gen_params probe = base;
        if (mkv_gen_params_set_cache(&probe, methods.text[m]) != MKV_OK) return MKV_ERR_USAGE;
        if (probe.cache.mode != MKV_CACHE_DLLM && probe.cache.mode != MKV_CACHE_EVICT)
            return mkv_fail(MKV_ERR_USAGE, "--methods: '%s' is not a prompt-cache method (full, maskkv, snapkv, ...)", methods.text[m]);
    }
    char default_data[1100];
    if (!data_dir) {
        size_t len = strlen(model_path);
        while (len > 1 && model_path[len - 1] == '/') len--;
        if (len > 5 && !strncmp(model_path + len - 5, ".gguf", 5)) len -= 5;
        snprintf(default_data, sizeof default_data, "%.*s-eval", (int)len, model_path);
        data_dir = default_data;
    }
    const char *inputs[] = {model_path, profile_path, data_dir};
    if (out_dir && prepare_out_dir(out_dir, inputs, 3)) return mkv_last_status();

    const char *task_names[MAX_LIST], *method_names[MAX_LIST];
    for (int t = 0; t < tasks.n; t++) task_names[t] = tasks.text[t];
    for (int m = 0; m < methods.n; m++) method_names[m] = methods.text[m];
    base.profile_path = profile_path;
    progress_state progress = {mkv_cli_seconds()};
    mkv_eval_params ep = {.data_dir = data_dir, .tasks = task_names, .n_tasks = tasks.n, .methods = method_names,
                          .n_methods = methods.n, .lengths = lengths, .n_lengths = n_lengths, .budgets = budgets,
                          .n_budgets = n_budgets, .depths = depths, .n_depths = n_depths, .samples = samples, .base = base,
                          .on_run = show_run, .on_past_context = warn_context, .on_run_ctx = &progress};
    /* maskkv-revote's cold store and cadence, parsed as generate's --cold/--revote */
    mkv_gen_params revote;
    mkv_gen_params_defaults(&revote);
    if (mkv_gen_params_set_revote(&revote, cold_text, revote_text) != MKV_OK) return MKV_ERR_USAGE;
    ep.revote = revote.cache.revote;
    mkv_model *model = NULL;
    mkv_eval_result *result = NULL;
    mkv_status st = mkv_model_load_with(model_path, &mp, &model);
    if (st == MKV_OK) st = mkv_eval_run(model, &ep, &result);
    if (st == MKV_OK) {
        fprintf(stderr, "\n");
        if (json) printf("%s\n", mkv_eval_result_json(result));
        else mkv_eval_result_print_table(result, stdout);
        if (out_dir) st = mkv_eval_result_save(result, out_dir);
    }
    mkv_eval_result_free(result);
    mkv_model_free(model);
    return st;
}
