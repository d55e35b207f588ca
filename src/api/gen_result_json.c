/* mkv_gen_result_json: the line `maskkv generate --json` prints. "text" is
 * written by mkv_json_write_string (it may hold NUL bytes, which cJSON's
 * strings cannot), the other fields by cJSON. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maskkv.h"
#include "util/alloc.h"
#include "util/json_text.h"

static cJSON *stats_object(const mkv_gen_result *r) {
    const mkv_gen_stats *s = mkv_gen_result_stats(r);
    int n_answer = 0;
    const int32_t *ids = mkv_gen_result_ids(r, &n_answer);
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON *tokens = cJSON_AddArrayToObject(o, "tokens");
    for (int i = 0; i < n_answer; i++) cJSON_AddItemToArray(tokens, cJSON_CreateNumber(ids[i]));
    cJSON_AddNumberToObject(o, "unknown_ids", s->unknown_ids);
    cJSON_AddNumberToObject(o, "n_prompt", s->n_prompt);
    cJSON_AddNumberToObject(o, "gen_len", s->gen_len);
    cJSON_AddNumberToObject(o, "steps", s->steps);
    cJSON_AddNumberToObject(o, "seconds", s->seconds);
    cJSON_AddNumberToObject(o, "prefill_seconds", s->prefill_seconds);
    cJSON_AddNumberToObject(o, "tokens_per_second", s->tokens_per_second);
    cJSON_AddNumberToObject(o, "decode_seconds_per_step", s->decode_seconds_per_step);
    cJSON_AddNumberToObject(o, "peak_rss_bytes", (double)s->peak_rss_bytes);
    cJSON_AddNumberToObject(o, "peak_alloc_bytes", (double)s->peak_alloc_bytes);
    cJSON_AddStringToObject(o, "compute", s->compute);
    cJSON_AddStringToObject(o, "kv_dtype", s->kv_dtype);
    cJSON_AddNumberToObject(o, "kv_bytes", (double)s->kv_bytes);
    cJSON_AddNumberToObject(o, "kv_bytes_decode", (double)s->kv_bytes_decode);
    cJSON_AddNumberToObject(o, "model_bytes", (double)s->model_bytes);
    cJSON_AddNumberToObject(o, "weights_resident_bytes", (double)s->weights_resident_bytes);
    cJSON_AddStringToObject(o, "cache", s->cache);
    cJSON_AddNumberToObject(o, "full_passes", s->full_passes);
    /* seconds per part: the first step (prefill) and the other steps together */
    const double *parts[2] = {s->time_prefill, s->time_decode};
    const char *part_names[2] = {"time_prefill", "time_decode"};
    for (int k = 0; k < 2; k++) {
        cJSON *t = cJSON_AddObjectToObject(o, part_names[k]);
        for (int part = 0; part < MKV_PART_COUNT; part++)
            cJSON_AddNumberToObject(t, mkv_forward_part_name((mkv_forward_part)part), parts[k][part]);
    }
    cJSON_AddNumberToObject(o, "time_sampling", s->time_sampling);
    cJSON_AddNumberToObject(o, "partial_steps", s->partial_steps);
    if (s->layer_alloc) cJSON_AddNumberToObject(o, "budget", s->budget);
    if (s->kv_kept_per_layer) {
        cJSON_AddNumberToObject(o, "kv_prompt_kept", (double)s->kv_prompt_kept);
        cJSON *per_layer = cJSON_AddArrayToObject(o, "kv_kept_per_layer");
        for (int l = 0; l < s->n_layers; l++)
            cJSON_AddItemToArray(per_layer, cJSON_CreateNumber((double)s->kv_kept_per_layer[l]));
    }
    if (s->cold) {
        cJSON_AddStringToObject(o, "cold", s->cold);
        cJSON_AddNumberToObject(o, "cold_rows", (double)s->cold_rows);
        cJSON_AddNumberToObject(o, "cold_bytes", (double)s->cold_bytes);
        cJSON_AddNumberToObject(o, "cold_reserved_bytes", (double)s->cold_reserved_bytes);
        cJSON_AddNumberToObject(o, "revotes", s->revotes);
        cJSON_AddNumberToObject(o, "revote_seconds", s->revote_seconds);
        cJSON *promoted = cJSON_AddArrayToObject(o, "revote_promoted_per_layer");
        for (int l = 0; l < s->n_layers; l++)
            cJSON_AddItemToArray(promoted, cJSON_CreateNumber((double)s->revote_promoted_per_layer[l]));
    }
    return o;
}

mkv_status mkv_gen_result_json(const mkv_gen_result *r, char **out_json, size_t *out_len) {
    *out_json = NULL;
    if (out_len) *out_len = 0;
    cJSON *o = stats_object(r);
    char *fields = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    char *line = NULL;
    size_t line_len = 0;
    FILE *f = fields ? open_memstream(&line, &line_len) : NULL;
    if (!f) {
        cJSON_free(fields);
        return mkv_fail(MKV_ERR_NOMEM, "out of memory writing the result as JSON");
    }
    size_t text_len = 0;
    const char *text = mkv_gen_result_text(r, &text_len);
    fputs("{\"text\":", f);
    mkv_json_write_string(f, text ? text : "", text ? text_len : 0);
    fprintf(f, ",%s", fields + 1); /* cJSON's object without its opening brace */
    cJSON_free(fields);
    if (fclose(f) != 0 || !line) {
        free(line);
        return mkv_fail(MKV_ERR_NOMEM, "out of memory writing the result as JSON");
    }
    char *out = mkv_malloc(line_len + 1, "result JSON");
    if (out) memcpy(out, line, line_len + 1);
    free(line);
    if (!out) return mkv_last_status();
    *out_json = out;
    if (out_len) *out_len = line_len;
    return MKV_OK;
}
