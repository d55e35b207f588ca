/* maskkv eval: exact-match accuracy of cache policies on retrieval tasks
 * (needle-in-a-haystack, key-value recall, two needles), per method, budget,
 * prompt length and needle depth — the harness behind EVAL.md.
 *
 * The evaluation sets are JSONL files DATA/<task>_<length>.jsonl made by
 * tools/train/tasks.py (fields: prompt or prompt_ids, answer, depth/depths). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "cache/profile.h"
#include "cache_presets.h"
#include "commands.h"
#include "generate/generate.h"
#include "tokenizer/tokenizer.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/mapped_file.h"
#include "util/safe_write.h"

#define MAX_LIST 16

static void usage(void) {
    printf("usage: maskkv eval -m MODEL [--data DIR] [--task niah,recall,two] [--lengths 256,512,1024,2048]\n"
           "                   [--depths 0,0.25,0.5,0.75,1] [--budgets 16,32,64,128,256]\n"
           "                   [--methods full,maskkv,snapkv,pyramidkv,squeeze,adakv,streaming]\n"
           "                   [--samples N] [--seed S] [--gen-len N] [--steps N] [--profile FILE]\n"
           "                   [--prompt-refresh N] [--response-refresh N] [--transfer-ratio R]\n"
           "                   [--threads N] [--json] [--out DIR] [--ctx-size N]\n"
           "DATA defaults to MODEL without .gguf plus '-eval'. 'full' is the uncompressed\n"
           "dLLM-Cache (prompt K/V kept whole); every other method evicts prompt K/V to the\n"
           "budget. Prints accuracy per method and budget and as a percentage of full;\n"
           "--out writes results.json and results.csv (plots: tools/plot_eval.py).\n"
           "--ctx-size N runs prompts up to N tokens, past the trained context with a warning.\n");
}

typedef struct {
    int32_t *prompt;
    int n_prompt;
    char *answer;
    double depth;   /* first needle's relative depth, -1 if none */
} eval_sample;

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

static const char *task_file_name(const char *task) {
    if (!strcmp(task, "recall") || !strcmp(task, "kv")) return "kv";
    return task;
}

static void free_samples(eval_sample *s, int n) {
    for (int i = 0; i < n; i++) {
        mkv_free(s[i].prompt);
        mkv_free(s[i].answer);
    }
    mkv_free(s);
}

/* Reads up to max_samples samples of one JSONL file. */
static mkv_status load_samples(const char *path, const mkv_tokenizer *tok, int max_samples, eval_sample **out, int *n_out) {
    char *text = NULL;
    mkv_status st = mkv_read_text_file(path, (size_t)1 << 30, &text, NULL);
    if (st != MKV_OK) return st;
    eval_sample *samples = mkv_calloc((size_t)max_samples, sizeof *samples, "eval samples");
    if (!samples) {
        mkv_free(text);
        return mkv_last_status();
    }
    int n = 0, line_no = 0;
    for (char *line = text; *line && n < max_samples; line_no++) {
        char *end = strchr(line, '\n');
        if (end) *end = '\0';
        char *next = end ? end + 1 : line + strlen(line);
        if (*line) {
            cJSON *doc = cJSON_Parse(line);
            const cJSON *answer = cJSON_GetObjectItemCaseSensitive(doc, "answer");
            const cJSON *ids = cJSON_GetObjectItemCaseSensitive(doc, "prompt_ids");
            const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(doc, "prompt");
            const cJSON *depth = cJSON_GetObjectItemCaseSensitive(doc, "depth");
            const cJSON *depths = cJSON_GetObjectItemCaseSensitive(doc, "depths");
            if (!doc || !cJSON_IsString(answer) || (!cJSON_IsArray(ids) && !cJSON_IsString(prompt))) {
                cJSON_Delete(doc);
                free_samples(samples, n);
                mkv_free(text);
                return mkv_fail(MKV_ERR_FORMAT, "%s:%d: not an eval sample (needs answer and prompt or prompt_ids)", path,
                                line_no + 1);
            }
            eval_sample *s = &samples[n];
            s->depth = cJSON_IsNumber(depth) ? depth->valuedouble
                       : (cJSON_IsArray(depths) && cJSON_IsNumber(cJSON_GetArrayItem(depths, 0)))
                           ? cJSON_GetArrayItem(depths, 0)->valuedouble : -1;
            s->answer = mkv_malloc(strlen(answer->valuestring) + 1, "eval answer");
            if (s->answer) strcpy(s->answer, answer->valuestring);
            if (cJSON_IsArray(ids)) {
                s->n_prompt = cJSON_GetArraySize(ids);
                s->prompt = mkv_malloc((size_t)(s->n_prompt ? s->n_prompt : 1) * sizeof(int32_t), "eval prompt");
                for (int i = 0; s->prompt && i < s->n_prompt; i++)
                    s->prompt[i] = (int32_t)cJSON_GetArrayItem(ids, i)->valuedouble;
            } else if ((st = mkv_tokenize(tok, prompt->valuestring, strlen(prompt->valuestring), true, &s->prompt,
                                          &s->n_prompt)) != MKV_OK) {
                cJSON_Delete(doc);
                free_samples(samples, n + 1);
                mkv_free(text);
                return st;
            }
            cJSON_Delete(doc);
            if (!s->answer || !s->prompt) {
                free_samples(samples, n + 1);
                mkv_free(text);
                return MKV_ERR_NOMEM;
            }
            n++;
        }
        line = next;
    }
    mkv_free(text);
    *out = samples;
    *n_out = n;
    return MKV_OK;
}

static void trim(char *s) {
    size_t len = strlen(s);
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\n' || s[len - 1] == '\t' || s[len - 1] == '\r')) s[--len] = '\0';
    size_t start = 0;
    while (s[start] == ' ' || s[start] == '\n' || s[start] == '\t') start++;
    memmove(s, s + start, len - start + 1);
}

/* results[task][method][budget][length][depth bucket] = (correct, total) */
typedef struct {
    int correct, total;
} tally;

/* OUT/results.json and OUT/results.csv, each replaced atomically. */
static mkv_status write_results(const char *out_dir, const char *serialized, const cJSON *rows) {
    char path[1400];
    snprintf(path, sizeof path, "%s/results.json", out_dir);
    size_t n = strlen(serialized);
    char *json_text = mkv_malloc(n + 2, "eval results");
    if (!json_text) return mkv_last_status();
    memcpy(json_text, serialized, n);
    json_text[n] = '\n';
    mkv_status st = mkv_safe_write_all(path, json_text, n + 1);
    mkv_free(json_text);
    if (st) return st;
    char *csv = NULL;
    size_t csv_len = 0;
    FILE *f = open_memstream(&csv, &csv_len);
    if (!f) return mkv_fail(MKV_ERR_NOMEM, "%s: out of memory", path);
    fprintf(f, "task,method,budget,length,depth,correct,total\n");
    const cJSON *cell;
    cJSON_ArrayForEach(cell, rows) {
        fprintf(f, "%s,%s,%d,%d,%g,%d,%d\n", cJSON_GetObjectItem(cell, "task")->valuestring,
                cJSON_GetObjectItem(cell, "method")->valuestring, (int)cJSON_GetObjectItem(cell, "budget")->valuedouble,
                (int)cJSON_GetObjectItem(cell, "length")->valuedouble, cJSON_GetObjectItem(cell, "depth")->valuedouble,
                (int)cJSON_GetObjectItem(cell, "correct")->valuedouble, (int)cJSON_GetObjectItem(cell, "total")->valuedouble);
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/results.csv", out_dir);
    st = mkv_safe_write_all(path, csv, csv_len);
    free(csv);
    return st;
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

mkv_status cmd_eval(int argc, char **argv) {
    const char *model_path = NULL, *data_dir = NULL, *out_dir = NULL, *profile_path = NULL;
    const char *tasks_text = "niah,recall,two", *methods_text = "full,maskkv,snapkv,pyramidkv,squeeze,adakv,streaming";
    const char *lengths_text = "256,512,1024,2048", *budgets_text = "16,32,64,128,256", *depths_text = "0,0.25,0.5,0.75,1";
    int samples = 20;
    bool json = false;
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
        else if (!strcmp(a, "--lengths")) lengths_text = v;
        else if (!strcmp(a, "--budgets")) budgets_text = v;
        else if (!strcmp(a, "--depths")) depths_text = v;
        else if (!strcmp(a, "--samples")) { if (!mkv_parse_int(a, v, 1, 100000, &samples)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--seed")) { if (!mkv_parse_u64(a, v, &base.seed)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--gen-len")) { if (!mkv_parse_int(a, v, 1, 1 << 16, &base.gen_len)) return MKV_ERR_USAGE; base.block_len = base.gen_len; base.steps = base.gen_len; }
        else if (!strcmp(a, "--ctx-size") || !strcmp(a, "-c")) { if (!mkv_parse_int(a, v, 1, 1 << 24, &base.ctx_size)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--steps")) { if (!mkv_parse_int(a, v, 1, 1 << 16, &base.steps)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--prompt-refresh")) { if (!mkv_parse_int(a, v, 0, 1 << 30, &base.cache.prompt_refresh)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--response-refresh")) { if (!mkv_parse_int(a, v, 1, 1 << 30, &base.cache.response_refresh)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--transfer-ratio")) { if (!mkv_parse_float(a, v, 0, 1, &base.cache.transfer_ratio)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--threads") || !strcmp(a, "-t")) { if (!mkv_apply_threads(v)) return MKV_ERR_USAGE; }
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
        mkv_cache_config probe = base.cache;
        if (!mkv_apply_cache_preset(methods.text[m], &probe)) return MKV_ERR_USAGE;
        if (probe.mode != MKV_CACHE_DLLM && probe.mode != MKV_CACHE_EVICT)
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

    size_t n_cells = (size_t)tasks.n * methods.n * n_budgets * n_lengths * n_depths;
    tally *cells = mkv_calloc(n_cells, sizeof *cells, "eval results");
    if (!cells) return mkv_last_status();
#define CELL(t, m, b, l, d) cells[((((size_t)(t) * methods.n + (m)) * n_budgets + (b)) * n_lengths + (l)) * n_depths + (d)]
    mkv_model *model = NULL;
    mkv_profile profile = {0};
    char default_profile[1100];
    mkv_status st = mkv_model_load(model_path, &model);
    if (st != MKV_OK) goto done;
    const mkv_tokenizer *tok = mkv_model_tokenizer(model);
    if (!tok) {
        st = mkv_fail(MKV_ERR_UNSUPPORTED, "%s has no tokenizer to decode answers", model_path);
        goto done;
    }
    if (!profile_path && mkv_default_profile_path(model_path, default_profile, sizeof default_profile))
        profile_path = default_profile;
    if (profile_path && (st = mkv_profile_load(profile_path, model, &profile)) != MKV_OK) goto done;
    double start = mkv_now_seconds();
    int done_runs = 0;
    bool warned_context = false;
    for (int t = 0; t < tasks.n; t++) {
        for (int l = 0; l < n_lengths; l++) {
            char path[1400];
            snprintf(path, sizeof path, "%s/%s_%d.jsonl", data_dir, task_file_name(tasks.text[t]), lengths[l]);
            eval_sample *set = NULL;
            int n_set = 0;
            if ((st = load_samples(path, tok, samples, &set, &n_set)) != MKV_OK) goto done;
            for (int m = 0; m < methods.n; m++) {
                mkv_gen_params p = base;
                mkv_apply_cache_preset(methods.text[m], &p.cache);
                bool evicts = p.cache.mode == MKV_CACHE_EVICT;
                if (evicts && p.cache.evict.layer_alloc == MKV_LAYERS_BOUNDARY && !profile.layer_importance)
                    p.cache.evict.layer_alloc = MKV_LAYERS_BOUNDARY_ONLINE;
                p.cache.evict.layer_importance = profile.layer_importance;
                for (int b = 0; b < (evicts ? n_budgets : 1); b++) {
                    p.cache.evict.budget = budgets[b];
                    for (int s = 0; s < n_set; s++) {
                        mkv_gen_result r;
                        int n_run = set[s].n_prompt + p.gen_len;
                        if (!warned_context && n_run > model->hp.n_ctx && base.ctx_size >= n_run) {
                            mkv_warn_past_context("eval", n_run, model->hp.n_ctx, base.ctx_size);
                            warned_context = true;
                        }
                        if ((st = mkv_generate(model, set[s].prompt, set[s].n_prompt, &p, &r)) != MKV_OK) {
                            free_samples(set, n_set);
                            goto done;
                        }
                        int len = mkv_answer_length(model, r.tokens + r.n_prompt, p.gen_len);
                        char *text = NULL;
                        bool correct = false;
                        if (mkv_detokenize_output(tok, r.tokens + r.n_prompt, len, 0, &text, NULL, NULL) == MKV_OK) {
                            trim(text);
                            correct = strcmp(text, set[s].answer) == 0;
                        }
                        mkv_free(text);
                        mkv_gen_result_free(&r);
                        int d = 0;
                        for (int k = 1; k < n_depths; k++)
                            if (fabs(set[s].depth - depths[k]) < fabs(set[s].depth - depths[d])) d = k;
                        /* the uncompressed method counts at every budget (one run) */
                        for (int bb = evicts ? b : 0; bb < (evicts ? b + 1 : n_budgets); bb++) {
                            CELL(t, m, bb, l, d).total++;
                            CELL(t, m, bb, l, d).correct += correct;
                        }
                        done_runs++;
                        if (isatty(STDERR_FILENO) || done_runs % 50 == 0)
                            fprintf(stderr, "\reval: %s len %d %s B=%d: %d runs, %.0f s", tasks.text[t], lengths[l],
                                    methods.text[m], evicts ? budgets[b] : 0, done_runs, mkv_now_seconds() - start);
                    }
                }
            }
            free_samples(set, n_set);
        }
    }
    fprintf(stderr, "\n");

    /* accuracy over lengths and depths, per task, method and budget */
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "model", model_path);
    cJSON_AddNumberToObject(root, "samples_per_cell", samples);
    cJSON_AddNumberToObject(root, "gen_len", base.gen_len);
    cJSON_AddNumberToObject(root, "seconds", mkv_now_seconds() - start);
    cJSON *rows = cJSON_AddArrayToObject(root, "results");
    for (int t = 0; t < tasks.n; t++) {
        if (!json) printf("\n%s (exact match, %%; in parentheses: %% of full cache)\n%-10s", tasks.text[t], "method");
        if (!json)
            for (int b = 0; b < n_budgets; b++) printf("  B=%-12d", budgets[b]);
        if (!json) printf("\n");
        int full_method = -1;
        for (int m = 0; m < methods.n; m++)
            if (!strcmp(methods.text[m], "full") || !strcmp(methods.text[m], "dllm")) full_method = m;
        for (int m = 0; m < methods.n; m++) {
            if (!json) printf("%-10s", methods.text[m]);
            for (int b = 0; b < n_budgets; b++) {
                int correct = 0, total = 0, full_correct = 0, full_total = 0;
                for (int l = 0; l < n_lengths; l++)
                    for (int d = 0; d < n_depths; d++) {
                        correct += CELL(t, m, b, l, d).correct;
                        total += CELL(t, m, b, l, d).total;
                        if (full_method >= 0) {
                            full_correct += CELL(t, full_method, b, l, d).correct;
                            full_total += CELL(t, full_method, b, l, d).total;
                        }
                        cJSON *cell = cJSON_CreateObject();
                        cJSON_AddStringToObject(cell, "task", tasks.text[t]);
                        cJSON_AddStringToObject(cell, "method", methods.text[m]);
                        cJSON_AddNumberToObject(cell, "budget", budgets[b]);
                        cJSON_AddNumberToObject(cell, "length", lengths[l]);
                        cJSON_AddNumberToObject(cell, "depth", depths[d]);
                        cJSON_AddNumberToObject(cell, "correct", CELL(t, m, b, l, d).correct);
                        cJSON_AddNumberToObject(cell, "total", CELL(t, m, b, l, d).total);
                        cJSON_AddItemToArray(rows, cell);
                    }
                double acc = total ? 100.0 * correct / total : 0;
                double full_acc = full_total ? 100.0 * full_correct / full_total : 0;
                if (!json) {
                    char cell_text[32];
                    if (full_acc > 0) snprintf(cell_text, sizeof cell_text, "%5.1f (%5.1f%%)", acc, 100 * acc / full_acc);
                    else snprintf(cell_text, sizeof cell_text, "%5.1f", acc);
                    printf("  %-14s", cell_text);
                }
            }
            if (!json) printf("\n");
        }
    }
    char *serialized = cJSON_PrintUnformatted(root);
    if (json) printf("%s\n", serialized);
    if (out_dir && !st) st = write_results(out_dir, serialized, rows);
    cJSON_free(serialized);
    cJSON_Delete(root);
done:
    mkv_free(cells);
    mkv_profile_free(&profile);
    if (model) mkv_model_free(model);
    return st;
#undef CELL
}
