/* Request bodies of the completion endpoints -> mkv_serve_request (see request.h). */
#include "serve/request.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tokenizer/tokenizer_internal.h"
#include "util/alloc.h"

/* A message quotes what the client sent (cut to a length, maybe inside a
 * character): one line of valid UTF-8, control bytes as spaces and the bytes
 * of a cut or invalid sequence as '?'. */
static void clean_message(char *m) {
    size_t n = strlen(m), bad = 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)m[i] < 0x20 || m[i] == 0x7f) m[i] = ' ';
    for (size_t at = 0; at < n && !mkv_utf8_validate(m + at, n - at, &bad);) {
        m[at + bad] = '?';
        at += bad + 1;
    }
}

static void set_message(mkv_serve_error *err, const char *fmt, va_list ap) {
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    clean_message(err->message);
}

bool mkv_serve_error_set(mkv_serve_error *err, int http_status, const char *type, const char *param, const char *code,
                         const char *fmt, ...) {
    err->http_status = http_status;
    snprintf(err->type, sizeof err->type, "%s", type ? type : "");
    snprintf(err->param, sizeof err->param, "%s", param ? param : "");
    snprintf(err->code, sizeof err->code, "%s", code ? code : "");
    va_list ap;
    va_start(ap, fmt);
    set_message(err, fmt, ap);
    va_end(ap);
    return false;
}

bool mkv_serve_invalid(mkv_serve_error *err, const char *param, const char *fmt, ...) {
    mkv_serve_error_set(err, 400, "invalid_request_error", param, "", "%s", "");
    va_list ap;
    va_start(ap, fmt);
    set_message(err, fmt, ap);
    va_end(ap);
    return false;
}

/* ------------------------------------------------------------ typed fields
 * Each getter: absent or null leaves *out as it is and returns true; a value
 * of the wrong type or out of range is a 400 naming the field. */
static const cJSON *field(const cJSON *o, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

static bool get_int(const cJSON *o, const char *name, long min, long max, int *out, bool *present, mkv_serve_error *err) {
    const cJSON *v = field(o, name);
    if (!v) return true;
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble))
        return mkv_serve_invalid(err, name, "'%s' must be an integer", name);
    if (v->valuedouble < (double)min || v->valuedouble > (double)max)
        return mkv_serve_invalid(err, name, "'%s' must be in [%ld, %ld] (got %.0f)", name, min, max, v->valuedouble);
    *out = (int)v->valuedouble;
    if (present) *present = true;
    return true;
}

static bool get_number(const cJSON *o, const char *name, double min, double max, bool max_open, double *out,
                       mkv_serve_error *err) {
    const cJSON *v = field(o, name);
    if (!v) return true;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return mkv_serve_invalid(err, name, "'%s' must be a number", name);
    double x = v->valuedouble;
    if (x < min || x > max || (max_open && x == max))
        return mkv_serve_invalid(err, name, "'%s' must be in [%g, %g%s (got %g)", name, min, max, max_open ? ")" : "]", x);
    *out = x;
    return true;
}

static bool get_bool(const cJSON *o, const char *name, bool *out, mkv_serve_error *err) {
    const cJSON *v = field(o, name);
    if (!v) return true;
    if (!cJSON_IsBool(v)) return mkv_serve_invalid(err, name, "'%s' must be true or false", name);
    *out = cJSON_IsTrue(v);
    return true;
}

/* A string that is valid UTF-8 (cJSON passes the body's bytes through). */
static bool check_text(const char *s, const char *name, mkv_serve_error *err) {
    size_t bad = 0;
    if (!mkv_utf8_validate(s, strlen(s), &bad))
        return mkv_serve_invalid(err, name, "'%s' is not valid UTF-8 (byte %zu)", name, bad);
    return true;
}

static bool get_string(const cJSON *o, const char *name, const char **out, mkv_serve_error *err) {
    const cJSON *v = field(o, name);
    if (!v) return true;
    if (!cJSON_IsString(v)) return mkv_serve_invalid(err, name, "'%s' must be a string", name);
    if (!check_text(v->valuestring, name, err)) return false;
    *out = v->valuestring;
    return true;
}

static bool get_choice(const cJSON *o, const char *name, const char *const *names, int n, int *out, mkv_serve_error *err) {
    const char *s = NULL;
    if (!get_string(o, name, &s, err)) return false;
    if (!s) return true;
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i])) {
            *out = i;
            return true;
        }
    char list[200] = "";
    for (int i = 0; i < n; i++) snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", names[i]);
    return mkv_serve_invalid(err, name, "'%s': unknown value '%.64s' (%s)", name, s, list);
}

/* Options maskkv does not implement must not be silently ignored when set. */
static bool refuse_if_set(const cJSON *o, const char *name, mkv_serve_error *err) {
    const cJSON *v = field(o, name);
    if (!v || cJSON_IsFalse(v)) return true;
    if (cJSON_IsNumber(v) && v->valuedouble == 0) return true;
    return mkv_serve_error_set(err, 400, "invalid_request_error", name, "unsupported_parameter",
                               "'%s' is not supported by maskkv", name);
}

static char *copy_text(const char *s) {
    size_t n = strlen(s);
    char *c = mkv_malloc(n + 1, "request text");
    if (c) memcpy(c, s, n + 1);
    return c;
}

static bool out_of_memory(mkv_serve_error *err) {
    return mkv_serve_error_set(err, 500, "server_error", "", "", "out of memory reading the request");
}

/* ------------------------------------------------------------ prompts */
/* content: a string, or a list of {"type": "text", "text": "..."} parts. */
static bool message_content(const cJSON *content, int index, char **out, mkv_serve_error *err) {
    if (cJSON_IsString(content)) {
        if (!check_text(content->valuestring, "messages", err)) return false;
        return (*out = copy_text(content->valuestring)) ? true : out_of_memory(err);
    }
    if (!cJSON_IsArray(content))
        return mkv_serve_invalid(err, "messages", "messages[%d].content must be a string or a list of text parts", index);
    size_t total = 0;
    const cJSON *part;
    cJSON_ArrayForEach(part, content) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "type");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (!cJSON_IsObject(part) || !cJSON_IsString(type) || strcmp(type->valuestring, "text") || !cJSON_IsString(text))
            return mkv_serve_invalid(err, "messages", "messages[%d].content: only {\"type\": \"text\", \"text\": ...} parts are supported", index);
        if (!check_text(text->valuestring, "messages", err)) return false;
        total += strlen(text->valuestring);
    }
    char *s = mkv_malloc(total + 1, "message text");
    if (!s) return out_of_memory(err);
    size_t at = 0;
    cJSON_ArrayForEach(part, content) {
        const char *t = cJSON_GetObjectItemCaseSensitive(part, "text")->valuestring;
        memcpy(s + at, t, strlen(t));
        at += strlen(t);
    }
    s[at] = '\0';
    *out = s;
    return true;
}

static bool parse_messages(const cJSON *root, mkv_serve_request *req, mkv_serve_error *err) {
    const cJSON *messages = cJSON_GetObjectItemCaseSensitive(root, "messages");
    if (!messages || cJSON_IsNull(messages))
        return mkv_serve_error_set(err, 400, "invalid_request_error", "messages", "missing_required_parameter",
                                   "'messages' is required");
    if (!cJSON_IsArray(messages) || cJSON_GetArraySize(messages) == 0)
        return mkv_serve_invalid(err, "messages", "'messages' must be a non-empty list");
    int n = cJSON_GetArraySize(messages);
    if (n > 1024) return mkv_serve_invalid(err, "messages", "at most 1024 messages (got %d)", n);
    req->messages = mkv_calloc((size_t)n, sizeof *req->messages, "messages");
    if (!req->messages) return out_of_memory(err);
    static const char *const roles[] = {"system", "user", "assistant", "developer"};
    const cJSON *m;
    cJSON_ArrayForEach(m, messages) {
        int i = req->n_messages;
        if (!cJSON_IsObject(m)) return mkv_serve_invalid(err, "messages", "messages[%d] must be an object", i);
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (!cJSON_IsString(role)) return mkv_serve_invalid(err, "messages", "messages[%d].role must be a string", i);
        int r = -1;
        for (int k = 0; k < 4; k++)
            if (!strcmp(role->valuestring, roles[k])) r = k;
        if (r < 0)
            return mkv_serve_invalid(err, "messages", "messages[%d].role: unsupported role '%.40s' (system, user, assistant)",
                                     i, role->valuestring);
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (!content) return mkv_serve_invalid(err, "messages", "messages[%d].content is required", i);
        req->messages[i].role = roles[r == 3 ? 0 : r]; /* developer = OpenAI's newer name for system */
        req->n_messages++;
        if (!message_content(content, i, &req->messages[i].content, err)) return false;
    }
    return true;
}

/* prompt: a string, a list of one string, or a list of token ids. */
static bool parse_prompt(const cJSON *root, mkv_serve_request *req, mkv_serve_error *err) {
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(root, "prompt");
    if (!prompt || cJSON_IsNull(prompt))
        return mkv_serve_error_set(err, 400, "invalid_request_error", "prompt", "missing_required_parameter",
                                   "'prompt' is required");
    if (cJSON_IsArray(prompt) && cJSON_GetArraySize(prompt) == 1 && cJSON_IsString(cJSON_GetArrayItem(prompt, 0)))
        prompt = cJSON_GetArrayItem(prompt, 0);
    if (cJSON_IsString(prompt)) {
        if (!check_text(prompt->valuestring, "prompt", err)) return false;
        return (req->prompt = copy_text(prompt->valuestring)) ? true : out_of_memory(err);
    }
    if (!cJSON_IsArray(prompt) || cJSON_GetArraySize(prompt) == 0)
        return mkv_serve_invalid(err, "prompt", "'prompt' must be a string or a non-empty list of token ids");
    int n = cJSON_GetArraySize(prompt);
    req->prompt_ids = mkv_malloc((size_t)n * sizeof(int32_t), "prompt ids");
    if (!req->prompt_ids) return out_of_memory(err);
    const cJSON *id;
    cJSON_ArrayForEach(id, prompt) {
        if (!cJSON_IsNumber(id) || id->valuedouble != floor(id->valuedouble) || id->valuedouble < 0 ||
            id->valuedouble > INT32_MAX)
            return mkv_serve_invalid(err, "prompt", "'prompt' must be a string or a list of token ids (non-negative integers)%s",
                                     cJSON_IsString(id) ? "; a batch of several prompts is not supported" : "");
        req->prompt_ids[req->n_prompt_ids++] = (int32_t)id->valuedouble;
    }
    return true;
}

/* ------------------------------------------------------------ options */
static bool parse_options(const cJSON *root, mkv_serve_endpoint endpoint, const mkv_serve_limits *limits,
                          mkv_serve_request *req, mkv_serve_error *err) {
    mkv_gen_params *p = &req->params;
    const char *model = NULL, *cache = NULL, *answer_prefix = NULL;
    int n = 1, budget = 0;
    if (!get_string(root, "model", &model, err) || !get_bool(root, "stream", &req->stream, err) ||
        !get_int(root, "n", 1, 1, &n, NULL, err))
        return false;
    if (model) snprintf(req->model, sizeof req->model, "%s", model);
    p->gen_len = limits->max_tokens < 128 ? limits->max_tokens : 128;
    if (endpoint == MKV_SERVE_CHAT && !get_int(root, "max_completion_tokens", 1, limits->max_tokens, &p->gen_len, NULL, err))
        return false;
    if (!get_int(root, "max_tokens", 1, limits->max_tokens, &p->gen_len, NULL, err) ||
        !get_int(root, "steps", 1, 1 << 20, &p->steps, &req->has_steps, err) ||
        !get_int(root, "block_length", 1, 1 << 20, &p->block_len, &req->has_block_len, err) ||
        !get_number(root, "temperature", 0, 100, false, &p->temperature, err) ||
        !get_number(root, "top_p", 0, 1, false, &p->top_p, err) ||
        !get_int(root, "top_k", 0, 1 << 30, &p->top_k, NULL, err) ||
        !get_number(root, "cfg", 0, 100, false, &p->cfg, err) ||
        !get_number(root, "threshold", 0, 1, true, &p->threshold, err) ||
        !get_number(root, "alg_temp", 0, 100, false, &p->alg_temp, err) ||
        !get_int(root, "budget", 1, 1 << 30, &budget, NULL, err) || !get_string(root, "cache", &cache, err) ||
        !get_string(root, "answer_prefix", &answer_prefix, err))
        return false;
    if (p->top_p == 0) return mkv_serve_invalid(err, "top_p", "'top_p' must be in (0, 1]");
    const cJSON *seed = field(root, "seed");
    if (seed) {
        if (!cJSON_IsNumber(seed) || seed->valuedouble != floor(seed->valuedouble) || seed->valuedouble < 0 ||
            seed->valuedouble > 9007199254740992.0)
            return mkv_serve_invalid(err, "seed", "'seed' must be an integer in [0, 2^53]");
        p->seed = (uint64_t)seed->valuedouble;
    }
    static const char *const remask_names[] = {"low_confidence", "random"};
    static const char *const alg_names[] = {"origin", "maskgit_plus", "topk_margin", "entropy"};
    int choice = -1;
    if (!get_choice(root, "remasking", remask_names, 2, &choice, err)) return false;
    if (choice >= 0) p->remasking = (mkv_remasking)choice;
    choice = -1;
    if (!get_choice(root, "alg", alg_names, 4, &choice, err)) return false;
    if (choice >= 0) p->alg = (mkv_dream_alg)choice;
    /* as `maskkv generate --cache NAME --budget B` */
    if (cache && mkv_gen_params_set_cache(p, cache) != MKV_OK)
        return mkv_serve_invalid(err, "cache",
                                 "'cache': unknown mode '%.40s' (none, prefix, dllm, maskkv, snapkv, pyramidkv, squeeze, "
                                 "adakv, streaming, random)", cache);
    if (budget > 0) p->cache.evict.budget = budget;
    p->cache.evict.seed = p->seed; /* the random selector follows the seed */
    if (answer_prefix && !(req->answer_prefix = copy_text(answer_prefix))) return out_of_memory(err);
    static const char *const unsupported[] = {"stop", "logprobs", "top_logprobs", "echo", "suffix", "best_of",
                                              "logit_bias", "tools", "functions", "response_format"};
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++)
        if (!refuse_if_set(root, unsupported[i], err)) return false;
    /* Defaults that always validate: one step per token, blocks of 32 when the
     * length is a multiple of 32, else one block. */
    if (!req->has_steps) p->steps = p->gen_len;
    if (!req->has_block_len) p->block_len = p->gen_len % 32 == 0 ? 32 : p->gen_len;
    return true;
}

bool mkv_serve_request_parse(const char *body, size_t len, mkv_serve_endpoint endpoint, const mkv_serve_limits *limits,
                             mkv_serve_request *req, mkv_serve_error *err) {
    memset(req, 0, sizeof *req);
    req->endpoint = endpoint;
    mkv_gen_params_defaults(&req->params);
    cJSON *root = cJSON_ParseWithLength(body, len);
    bool ok;
    if (!root) {
        size_t at = 0;
        const char *where = cJSON_GetErrorPtr();
        if (where && where >= body && where <= body + len) at = (size_t)(where - body);
        ok = mkv_serve_invalid(err, "", "the request body is not valid JSON (near byte %zu)", at);
    } else if (!cJSON_IsObject(root)) {
        ok = mkv_serve_invalid(err, "", "the request body must be a JSON object");
    } else {
        ok = parse_options(root, endpoint, limits, req, err) &&
             (endpoint == MKV_SERVE_CHAT ? parse_messages(root, req, err) : parse_prompt(root, req, err));
    }
    cJSON_Delete(root);
    if (!ok) {
        mkv_serve_request_free(req);
        req->endpoint = endpoint;
    }
    return ok;
}

void mkv_serve_request_free(mkv_serve_request *req) {
    for (int i = 0; i < req->n_messages; i++) mkv_free(req->messages[i].content);
    mkv_free(req->messages);
    mkv_free(req->prompt);
    mkv_free(req->prompt_ids);
    mkv_free(req->answer_prefix);
    memset(req, 0, sizeof *req);
}
