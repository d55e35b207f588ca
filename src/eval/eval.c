/* The retrieval evaluation (maskkv.h mkv_eval_*, `maskkv eval`): exact-match
 * accuracy of cache policies on needle-in-a-haystack, key-value recall and
 * two-needle sets, per method, budget, prompt length and needle depth — the
 * harness behind EVAL.md.
 *
 * The evaluation sets are JSONL files DATA/<task>_<length>.jsonl made by
 * tools/train/tasks.py (fields: prompt or prompt_ids, answer, depth/depths, and
 * match: "exact" (the default) or "codes", generate/answer_match.h). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maskkv.h"
#include "model/forward.h"
#include "generate/answer_match.h"
#include "util/alloc.h"
#include "util/clock.h"

typedef struct {
    int32_t *prompt;
    int n_prompt;
    char *answer;
    mkv_answer_match match;
    double depth;   /* first needle's relative depth, -1 if none */
} eval_sample;

/* cells[task][method][budget][length][depth bucket] = (correct, total) */
typedef struct {
    int correct, total;
} tally;

struct mkv_eval_result {
    mkv_eval_params params;  /* the lists point into the caller's arrays (copied below) */
    char **tasks, **methods;
    int *budgets;
    tally *cells;
    cJSON *root;
    char *json;
};

#define CELL(r, t, m, b, l, d)                                                                                         \
    (r)->cells[((((size_t)(t) * (r)->params.n_methods + (m)) * (r)->params.n_budgets + (b)) * (r)->params.n_lengths +   \
                (l)) * (r)->params.n_depths + (d)]

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
            const cJSON *match = cJSON_GetObjectItemCaseSensitive(doc, "match");
            mkv_answer_match match_rule = MKV_MATCH_EXACT;
            if (doc && match && !(cJSON_IsString(match) && mkv_answer_match_parse(match->valuestring, &match_rule))) {
                cJSON_Delete(doc);
                free_samples(samples, n);
                mkv_free(text);
                return mkv_fail(MKV_ERR_FORMAT, "%s:%d: \"match\" must be \"exact\" or \"codes\"", path, line_no + 1);
            }
            if (match_rule == MKV_MATCH_CODES && cJSON_IsString(answer) && !strpbrk(answer->valuestring, "0123456789")) {
                cJSON_Delete(doc);
                free_samples(samples, n);
                mkv_free(text);
                return mkv_fail(MKV_ERR_FORMAT, "%s:%d: \"match\": \"codes\" needs a number in the answer", path,
                                line_no + 1);
            }
            if (!doc || !cJSON_IsString(answer) || (!cJSON_IsArray(ids) && !cJSON_IsString(prompt))) {
                cJSON_Delete(doc);
                free_samples(samples, n);
                mkv_free(text);
                return mkv_fail(MKV_ERR_FORMAT, "%s:%d: not an eval sample (needs answer and prompt or prompt_ids)", path,
                                line_no + 1);
            }
            eval_sample *s = &samples[n];
            s->match = match_rule;
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

void mkv_eval_result_free(mkv_eval_result *r) {
    if (!r) return;
    for (int i = 0; r->tasks && i < r->params.n_tasks; i++) mkv_free(r->tasks[i]);
    for (int i = 0; r->methods && i < r->params.n_methods; i++) mkv_free(r->methods[i]);
    mkv_free(r->tasks);
    mkv_free(r->methods);
    mkv_free(r->budgets);
    mkv_free(r->cells);
    cJSON_Delete(r->root);
    cJSON_free(r->json);
    mkv_free(r);
}

static char *copy_text(const char *s) {
    char *c = mkv_malloc(strlen(s) + 1, "eval name");
    if (c) strcpy(c, s);
    return c;
}

/* The result keeps its own copies of the names and budgets it prints. */
static mkv_status init_result(const mkv_eval_params *params, mkv_eval_result **out) {
    mkv_eval_result *r = mkv_calloc(1, sizeof *r, "eval result");
    if (!r) return mkv_last_status();
    r->params = *params;
    size_t n_cells = (size_t)params->n_tasks * params->n_methods * params->n_budgets * params->n_lengths * params->n_depths;
    r->tasks = mkv_calloc((size_t)params->n_tasks, sizeof *r->tasks, "eval tasks");
    r->methods = mkv_calloc((size_t)params->n_methods, sizeof *r->methods, "eval methods");
    r->budgets = mkv_malloc((size_t)params->n_budgets * sizeof *r->budgets, "eval budgets");
    r->cells = mkv_calloc(n_cells ? n_cells : 1, sizeof *r->cells, "eval results");
    bool ok = r->tasks && r->methods && r->budgets && r->cells;
    for (int i = 0; ok && i < params->n_tasks; i++) ok = (r->tasks[i] = copy_text(params->tasks[i])) != NULL;
    for (int i = 0; ok && i < params->n_methods; i++) ok = (r->methods[i] = copy_text(params->methods[i])) != NULL;
    if (!ok) {
        mkv_eval_result_free(r);
        return mkv_last_status();
    }
    memcpy(r->budgets, params->budgets, (size_t)params->n_budgets * sizeof *r->budgets);
    *out = r;
    return MKV_OK;
}

/* Were --cold/--revote given to eval (not all off)? Then they replace the
 * re-vote settings of a method that re-votes (maskkv-revote). */
static bool revote_given(const mkv_revote_config *revote) {
    return revote->cold != MKV_COLD_OFF || revote->every != MKV_REVOTE_OFF;
}

/* Runs every sample of one task and length with every method and budget. */
static mkv_status run_set(const mkv_model *model, mkv_eval_result *r, int t, int l, const eval_sample *set, int n_set,
                          int *runs, bool *warned_context) {
    const mkv_eval_params *ep = &r->params;
    const mkv_hparams *hp = mkv_model_hparams(model);
    const mkv_tokenizer *tok = mkv_model_tokenizer(model);
    for (int m = 0; m < ep->n_methods; m++) {
        mkv_gen_params p = ep->base;
        p.on_step = NULL;
        p.on_layer = NULL;
        mkv_status st = mkv_gen_params_set_cache(&p, r->methods[m]);
        if (st != MKV_OK) return st;
        if (p.cache.revote.cold != MKV_COLD_OFF && revote_given(&ep->revote)) p.cache.revote = ep->revote;
        bool evicts = p.cache.mode == MKV_CACHE_EVICT;
        for (int b = 0; b < (evicts ? ep->n_budgets : 1); b++) {
            p.cache.evict.budget = r->budgets[b];
            for (int s = 0; s < n_set; s++) {
                int n_run = set[s].n_prompt + p.gen_len;
                if (!*warned_context && n_run > hp->n_ctx && p.ctx_size >= n_run) {
                    if (ep->on_past_context) ep->on_past_context(ep->on_run_ctx, n_run, hp->n_ctx, p.ctx_size);
                    *warned_context = true;
                }
                mkv_gen_result *g = NULL;
                if ((st = mkv_generate(model, set[s].prompt, set[s].n_prompt, &p, &g)) != MKV_OK) return st;
                int len = 0;
                const int32_t *answer = mkv_gen_result_ids(g, &len);
                char *text = NULL;
                bool correct = false;
                if (mkv_detokenize_output(tok, answer, len, 0, &text, NULL, NULL) == MKV_OK) {
                    trim(text);
                    correct = mkv_answer_matches(text, set[s].answer, set[s].match);
                }
                mkv_free(text);
                mkv_gen_result_free(g);
                int d = 0;
                for (int k = 1; k < ep->n_depths; k++)
                    if (fabs(set[s].depth - ep->depths[k]) < fabs(set[s].depth - ep->depths[d])) d = k;
                /* the uncompressed method counts at every budget (one run) */
                for (int bb = evicts ? b : 0; bb < (evicts ? b + 1 : ep->n_budgets); bb++) {
                    CELL(r, t, m, bb, l, d).total++;
                    CELL(r, t, m, bb, l, d).correct += correct;
                }
                ++*runs;
                if (ep->on_run)
                    ep->on_run(ep->on_run_ctx, *runs, r->tasks[t], ep->lengths[l], r->methods[m], evicts ? r->budgets[b] : 0);
            }
        }
    }
    return MKV_OK;
}

/* The JSON of every cell. */
static mkv_status build_json(const mkv_model *model, mkv_eval_result *r, double seconds) {
    const mkv_eval_params *ep = &r->params;
    cJSON *root = r->root = cJSON_CreateObject();
    if (!root) return mkv_fail(MKV_ERR_NOMEM, "eval: out of memory");
    cJSON_AddStringToObject(root, "model", mkv_model_path(model));
    cJSON_AddNumberToObject(root, "samples_per_cell", ep->samples);
    cJSON_AddNumberToObject(root, "gen_len", ep->base.gen_len);
    cJSON_AddStringToObject(root, "compute", mkv_compute_name(mkv_compute_for_request(model, &ep->base)));
    cJSON_AddNumberToObject(root, "seconds", seconds);
    cJSON *rows = cJSON_AddArrayToObject(root, "results");
    for (int t = 0; t < ep->n_tasks; t++)
        for (int m = 0; m < ep->n_methods; m++)
            for (int b = 0; b < ep->n_budgets; b++)
                for (int l = 0; l < ep->n_lengths; l++)
                    for (int d = 0; d < ep->n_depths; d++) {
                        cJSON *cell = cJSON_CreateObject();
                        cJSON_AddStringToObject(cell, "task", r->tasks[t]);
                        cJSON_AddStringToObject(cell, "method", r->methods[m]);
                        cJSON_AddNumberToObject(cell, "budget", r->budgets[b]);
                        cJSON_AddNumberToObject(cell, "length", ep->lengths[l]);
                        cJSON_AddNumberToObject(cell, "depth", ep->depths[d]);
                        cJSON_AddNumberToObject(cell, "correct", CELL(r, t, m, b, l, d).correct);
                        cJSON_AddNumberToObject(cell, "total", CELL(r, t, m, b, l, d).total);
                        cJSON_AddItemToArray(rows, cell);
                    }
    r->json = cJSON_PrintUnformatted(root);
    return r->json ? MKV_OK : mkv_fail(MKV_ERR_NOMEM, "eval: out of memory");
}

mkv_status mkv_eval_run(const mkv_model *model, const mkv_eval_params *params, mkv_eval_result **out) {
    *out = NULL;
    const mkv_tokenizer *tok = mkv_model_tokenizer(model);
    if (!params->data_dir) return mkv_fail(MKV_ERR_USAGE, "eval: no data directory given");
    if (params->n_tasks < 1 || params->n_methods < 1 || params->n_lengths < 1 || params->n_budgets < 1 ||
        params->n_depths < 1 || params->samples < 1)
        return mkv_fail(MKV_ERR_USAGE, "eval: every list needs at least one entry and --samples at least 1");
    for (int m = 0; m < params->n_methods; m++) {
        mkv_gen_params probe = params->base;
        if (mkv_gen_params_set_cache(&probe, params->methods[m]) != MKV_OK) return MKV_ERR_USAGE;
        bool revotes = probe.cache.revote.cold != MKV_COLD_OFF;
        if (revotes && revote_given(&params->revote) &&
            (params->revote.cold == MKV_COLD_OFF || params->revote.every == MKV_REVOTE_OFF))
            return mkv_fail(MKV_ERR_USAGE, "--methods maskkv-revote needs --cold file|ram and --revote block|N");
        if (probe.cache.mode != MKV_CACHE_DLLM && probe.cache.mode != MKV_CACHE_EVICT)
            return mkv_fail(MKV_ERR_USAGE, "--methods: '%s' is not a prompt-cache method (full, maskkv, snapkv, ...)",
                            params->methods[m]);
    }
    if (!tok) return mkv_fail(MKV_ERR_UNSUPPORTED, "%s has no tokenizer to decode answers", mkv_model_path(model));
    mkv_eval_result *r = NULL;
    mkv_status st = init_result(params, &r);
    if (st != MKV_OK) return st;
    /* the profile beside the model gives every method its layer importance */
    bool beside = false;
    const char *default_profile = mkv_model_default_profile(model, &beside);
    if (!r->params.base.profile_path && beside) r->params.base.profile_path = default_profile;
    double start = mkv_now_seconds();
    int runs = 0;
    bool warned_context = false;
    for (int t = 0; t < params->n_tasks && st == MKV_OK; t++) {
        for (int l = 0; l < params->n_lengths && st == MKV_OK; l++) {
            char path[1400];
            snprintf(path, sizeof path, "%s/%s_%d.jsonl", params->data_dir, task_file_name(r->tasks[t]), params->lengths[l]);
            eval_sample *set = NULL;
            int n_set = 0;
            if ((st = load_samples(path, tok, params->samples, &set, &n_set)) != MKV_OK) break;
            st = run_set(model, r, t, l, set, n_set, &runs, &warned_context);
            free_samples(set, n_set);
        }
    }
    if (st == MKV_OK) st = build_json(model, r, mkv_now_seconds() - start);
    if (st != MKV_OK) {
        mkv_eval_result_free(r);
        return st;
    }
    *out = r;
    return MKV_OK;
}

const char *mkv_eval_result_json(const mkv_eval_result *r) { return r->json; }

void mkv_eval_result_print_table(const mkv_eval_result *r, FILE *out) {
    const mkv_eval_params *ep = &r->params;
    for (int t = 0; t < ep->n_tasks; t++) {
        fprintf(out, "\n%s (exact match, %%; in parentheses: %% of full cache)\n%-10s", r->tasks[t], "method");
        for (int b = 0; b < ep->n_budgets; b++) fprintf(out, "  B=%-12d", r->budgets[b]);
        fprintf(out, "\n");
        int full_method = -1;
        for (int m = 0; m < ep->n_methods; m++)
            if (!strcmp(r->methods[m], "full") || !strcmp(r->methods[m], "dllm")) full_method = m;
        for (int m = 0; m < ep->n_methods; m++) {
            fprintf(out, "%-10s", r->methods[m]);
            for (int b = 0; b < ep->n_budgets; b++) {
                int correct = 0, total = 0, full_correct = 0, full_total = 0;
                for (int l = 0; l < ep->n_lengths; l++)
                    for (int d = 0; d < ep->n_depths; d++) {
                        correct += CELL(r, t, m, b, l, d).correct;
                        total += CELL(r, t, m, b, l, d).total;
                        if (full_method >= 0) {
                            full_correct += CELL(r, t, full_method, b, l, d).correct;
                            full_total += CELL(r, t, full_method, b, l, d).total;
                        }
                    }
                double acc = total ? 100.0 * correct / total : 0;
                double full_acc = full_total ? 100.0 * full_correct / full_total : 0;
                char cell_text[32];
                if (full_acc > 0) snprintf(cell_text, sizeof cell_text, "%5.1f (%5.1f%%)", acc, 100 * acc / full_acc);
                else snprintf(cell_text, sizeof cell_text, "%5.1f", acc);
                fprintf(out, "  %-14s", cell_text);
            }
            fprintf(out, "\n");
        }
    }
}

mkv_status mkv_eval_result_save(const mkv_eval_result *r, const char *out_dir) {
    char path[1400];
    snprintf(path, sizeof path, "%s/results.json", out_dir);
    size_t n = strlen(r->json);
    char *json_text = mkv_malloc(n + 2, "eval results");
    if (!json_text) return mkv_last_status();
    memcpy(json_text, r->json, n);
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
    cJSON_ArrayForEach(cell, cJSON_GetObjectItem(r->root, "results")) {
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
