#include "serve/job.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/alloc.h"
#include "util/clock.h"

struct mkv_serve_job {
    pthread_mutex_t mutex;
    pthread_cond_t changed;  /* output grew or the job ended */
    atomic_int refs;
    atomic_bool cancelled;
    const mkv_model *model;
    mkv_serve_metrics *metrics;
    mkv_serve_answer_head head;
    bool stream;
    int32_t *prompt;
    int n_prompt;
    mkv_gen_params params;
    double submitted, deadline;
    bool timed_out;
    /* the worker's streaming state */
    int unmasked;            /* answer positions committed at the last chunk */
    char *sent;              /* text sent so far (mkv_malloc'd) */
    size_t sent_len;
    bool sent_first;
    /* guarded by mutex */
    mkv_strbuf out;
    bool done;
    int http_status;
};

mkv_serve_job *mkv_serve_job_create(const mkv_model *model, const mkv_serve_answer_head *head, bool stream,
                                    int32_t *prompt, int n_prompt, const mkv_gen_params *params, double timeout_seconds,
                                    mkv_serve_metrics *metrics) {
    mkv_serve_job *job = mkv_calloc(1, sizeof *job, "request");
    if (!job) {
        mkv_free(prompt);
        return NULL;
    }
    pthread_mutex_init(&job->mutex, NULL);
    pthread_cond_init(&job->changed, NULL);
    atomic_init(&job->refs, 1);
    atomic_init(&job->cancelled, false);
    job->model = model;
    job->metrics = metrics;
    job->head = *head;
    job->stream = stream;
    job->prompt = prompt;
    job->n_prompt = n_prompt;
    job->params = *params;
    job->submitted = mkv_now_seconds();
    job->deadline = job->submitted + timeout_seconds;
    job->http_status = 200;
    return job;
}

void mkv_serve_job_retain(mkv_serve_job *job) { atomic_fetch_add(&job->refs, 1); }

void mkv_serve_job_release(mkv_serve_job *job) {
    if (!job || atomic_fetch_sub(&job->refs, 1) != 1) return;
    pthread_cond_destroy(&job->changed);
    pthread_mutex_destroy(&job->mutex);
    mkv_strbuf_free(&job->out);
    mkv_free(job->prompt);
    mkv_free(job->sent);
    mkv_free(job);
}

void mkv_serve_job_cancel(mkv_serve_job *job) { atomic_store(&job->cancelled, true); }

/* Appends to the output under the lock and wakes the reader. */
static void publish(mkv_serve_job *job, mkv_strbuf *piece, bool done, int http_status) {
    pthread_mutex_lock(&job->mutex);
    if (piece && piece->len) mkv_strbuf_append(&job->out, piece->data, piece->len);
    if (done) {
        job->done = true;
        job->http_status = http_status;
    }
    pthread_cond_broadcast(&job->changed);
    pthread_mutex_unlock(&job->mutex);
}

/* The text of the answer's committed prefix (mkv_step_text: up to its first
 * masked position or end token), without a trailing U+FFFD of a character
 * cut by a still-masked token (it may decode differently once the rest is
 * known). NULL when nothing can be said (no tokenizer). */
static char *prefix_text(const mkv_step_info *info, size_t *len) {
    char *text = NULL;
    if (mkv_step_text(info, true, NULL, &text, len) != MKV_OK) return NULL;
    while (*len >= 3 && !memcmp(text + *len - 3, "\xEF\xBF\xBD", 3)) *len -= 3;
    return text;
}

/* The part of `text` past what was sent (when what was sent is its prefix). */
static void new_text(mkv_serve_job *job, const char *text, size_t len, const char **delta, size_t *delta_len) {
    *delta = "";
    *delta_len = 0;
    if (len <= job->sent_len || memcmp(text, job->sent ? job->sent : "", job->sent_len)) return;
    char *sent = mkv_realloc(job->sent, len + 1, "streamed text");
    if (!sent) return;
    memcpy(sent, text, len);
    *delta = text + job->sent_len;
    *delta_len = len - job->sent_len;
    job->sent = sent;
    job->sent_len = len;
}

static int on_step(const mkv_step_info *info, void *ctx) {
    mkv_serve_job *job = ctx;
    if (atomic_load(&job->cancelled)) return 1;
    if (mkv_now_seconds() > job->deadline) return job->timed_out = true;
    if (!job->stream || info->n_unmasked <= job->unmasked) return 0; /* one chunk per step that unmasks tokens */
    job->unmasked = info->n_unmasked;
    size_t len = 0, delta_len = 0;
    const char *delta = "";
    char *text = prefix_text(info, &len);
    if (text) new_text(job, text, len, &delta, &delta_len);
    mkv_strbuf chunk = {0};
    mkv_serve_format_chunk(&chunk, &job->head, delta, delta_len, !job->sent_first, info->step, info->n_steps,
                           info->n_unmasked);
    job->sent_first = true;
    publish(job, &chunk, false, 0);
    mkv_strbuf_free(&chunk);
    mkv_free(text);
    return 0;
}

static void fail(mkv_serve_job *job, int http_status, const char *type, const char *code, const char *message) {
    mkv_serve_error err;
    mkv_serve_error_set(&err, http_status, type, "", code, "%s", message);
    mkv_strbuf b = {0};
    if (job->stream) {
        mkv_serve_format_stream_error(&b, &err);
        mkv_serve_format_done(&b);
    } else {
        mkv_serve_format_error(&b, &err);
    }
    publish(job, &b, true, job->stream ? 200 : http_status);
    mkv_strbuf_free(&b);
}

/* The answer text (mkv_gen_result_text: HF decode up to the end token), or
 * its ids when the model has no tokenizer. */
static char *answer_text(const mkv_gen_result *r, size_t *len) {
    const char *text = mkv_gen_result_text(r, len);
    mkv_strbuf b = {0};
    if (text) {
        mkv_strbuf_append(&b, text, *len);
    } else {
        int n = 0;
        const int32_t *ids = mkv_gen_result_ids(r, &n);
        for (int i = 0; i < n; i++) mkv_strbuf_printf(&b, "%s%d", i ? " " : "", ids[i]);
        mkv_strbuf_puts(&b, "");
    }
    return mkv_strbuf_take(&b, len);
}

static void finish(mkv_serve_job *job, const mkv_gen_result *r, double queue_seconds) {
    const mkv_gen_stats *s = mkv_gen_result_stats(r);
    size_t len = 0;
    char *text = answer_text(r, &len);
    if (!text) {
        fail(job, 500, "server_error", "out_of_memory", "out of memory writing the answer");
        return;
    }
    const mkv_serve_stats stats = {
        .prompt_tokens = s->n_prompt,
        .completion_tokens = s->n_answer,
        .steps = s->steps,
        .seconds = s->seconds,
        .prefill_seconds = s->prefill_seconds,
        .queue_seconds = queue_seconds,
        .kv_bytes = (double)s->kv_bytes,
        .kv_bytes_decode = (double)s->kv_bytes_decode,
        .peak_rss_bytes = (double)s->peak_rss_bytes,
        .kv_prompt_kept = s->kv_kept_per_layer ? s->kv_prompt_kept : -1,
        .cache = s->cache,
    };
    const char *finish_reason = s->n_answer < s->gen_len ? "stop" : "length";
    mkv_strbuf b = {0};
    if (job->stream) {
        const char *delta = "";
        size_t delta_len = 0;
        new_text(job, text, len, &delta, &delta_len);
        if (!job->sent_first) mkv_serve_format_chunk(&b, &job->head, "", 0, true, s->steps, job->params.steps, 0);
        mkv_serve_format_final_chunk(&b, &job->head, delta, delta_len, finish_reason, &stats);
        mkv_serve_format_done(&b);
    } else {
        mkv_serve_format_answer(&b, &job->head, text, len, finish_reason, &stats);
    }
    mkv_free(text);
    mkv_serve_metrics_generation(job->metrics, s->n_prompt, s->n_answer, s->seconds, queue_seconds, (double)s->kv_bytes);
    if (!mkv_strbuf_ok(&b)) fail(job, 500, "server_error", "out_of_memory", "out of memory writing the answer");
    else publish(job, &b, true, 200);
    mkv_strbuf_free(&b);
}

void mkv_serve_job_run(void *arg, void *ctx) {
    (void)ctx;
    mkv_serve_job *job = arg;
    double queue_seconds = mkv_now_seconds() - job->submitted;
    if (atomic_load(&job->cancelled)) {
        mkv_serve_metrics_event(job->metrics, MKV_SERVE_CANCELLED);
        publish(job, NULL, true, 499);
    } else if (mkv_now_seconds() > job->deadline) {
        mkv_serve_metrics_event(job->metrics, MKV_SERVE_TIMED_OUT);
        fail(job, 504, "timeout", "timeout", "the request waited in the queue past the server's timeout");
    } else {
        job->params.on_step = on_step;
        job->params.on_step_ctx = job;
        job->params.on_layer = NULL;
        mkv_gen_result *result = NULL;
        mkv_status st = mkv_generate(job->model, job->prompt, job->n_prompt, &job->params, &result);
        if (st == MKV_OK) {
            finish(job, result, queue_seconds);
        } else if (st == MKV_ERR_CANCELLED && job->timed_out) {
            mkv_serve_metrics_event(job->metrics, MKV_SERVE_TIMED_OUT);
            fail(job, 504, "timeout", "timeout", "the generation ran past the server's per-request timeout");
        } else if (st == MKV_ERR_CANCELLED) {
            mkv_serve_metrics_event(job->metrics, MKV_SERVE_CANCELLED);
            publish(job, NULL, true, 499); /* nobody is listening */
        } else {
            mkv_serve_metrics_event(job->metrics, MKV_SERVE_FAILED);
            fail(job, st == MKV_ERR_NOMEM ? 503 : 500, "server_error", st == MKV_ERR_NOMEM ? "out_of_memory" : "",
                 mkv_last_error());
        }
        mkv_gen_result_free(result);
    }
    mkv_serve_job_release(job); /* the queue's reference */
}

static void wait_until(mkv_serve_job *job, double seconds) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    long ns = until.tv_nsec + (long)(seconds * 1e9);
    until.tv_sec += ns / 1000000000L;
    until.tv_nsec = ns % 1000000000L;
    pthread_cond_timedwait(&job->changed, &job->mutex, &until);
}

size_t mkv_serve_job_read(mkv_serve_job *job, size_t offset, char *buf, size_t max, double seconds, bool *finished) {
    pthread_mutex_lock(&job->mutex);
    if (job->out.len <= offset && !job->done) wait_until(job, seconds);
    size_t n = job->out.len > offset ? job->out.len - offset : 0;
    if (n > max) n = max;
    if (n) memcpy(buf, job->out.data + offset, n);
    *finished = job->done && offset + n >= job->out.len;
    pthread_mutex_unlock(&job->mutex);
    return n;
}

bool mkv_serve_job_wait_done(mkv_serve_job *job, double seconds) {
    pthread_mutex_lock(&job->mutex);
    if (!job->done) wait_until(job, seconds);
    bool done = job->done;
    pthread_mutex_unlock(&job->mutex);
    return done;
}

int mkv_serve_job_result(mkv_serve_job *job, const char **body, size_t *len) {
    pthread_mutex_lock(&job->mutex);
    *body = job->out.data ? job->out.data : "";
    *len = job->out.len;
    int status = job->http_status;
    pthread_mutex_unlock(&job->mutex);
    return status;
}
