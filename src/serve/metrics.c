#include "serve/metrics.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/alloc.h"

void mkv_serve_metrics_init(mkv_serve_metrics *m) {
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mutex, NULL);
}

void mkv_serve_metrics_destroy(mkv_serve_metrics *m) { pthread_mutex_destroy(&m->mutex); }

void mkv_serve_metrics_request(mkv_serve_metrics *m, const char *route, int http_status) {
    pthread_mutex_lock(&m->mutex);
    int i = 0;
    while (i < m->n_series && (m->requests[i].code != http_status || strcmp(m->requests[i].route, route))) i++;
    if (i == m->n_series && i < MKV_SERVE_METRICS_MAX_SERIES) {
        snprintf(m->requests[i].route, sizeof m->requests[i].route, "%s", route);
        m->requests[i].code = http_status;
        m->n_series++;
    }
    if (i < m->n_series) m->requests[i].count++;
    pthread_mutex_unlock(&m->mutex);
}

void mkv_serve_metrics_event(mkv_serve_metrics *m, mkv_serve_event event) {
    pthread_mutex_lock(&m->mutex);
    switch (event) {
    case MKV_SERVE_REJECTED: m->rejected++; break;
    case MKV_SERVE_CANCELLED: m->cancelled++; break;
    case MKV_SERVE_TIMED_OUT: m->timed_out++; break;
    case MKV_SERVE_FAILED: m->failed++; break;
    }
    pthread_mutex_unlock(&m->mutex);
}

void mkv_serve_metrics_generation(mkv_serve_metrics *m, int prompt_tokens, int completion_tokens, double seconds,
                                  double queue_seconds, double kv_bytes) {
    pthread_mutex_lock(&m->mutex);
    m->completed++;
    m->prompt_tokens += (uint64_t)prompt_tokens;
    m->completion_tokens += (uint64_t)completion_tokens;
    m->generation_seconds += seconds;
    m->queue_seconds += queue_seconds;
    m->last_tokens_per_second = seconds > 0 ? completion_tokens / seconds : 0;
    m->kv_bytes_last = kv_bytes;
    if (kv_bytes > m->kv_bytes_max) m->kv_bytes_max = kv_bytes;
    pthread_mutex_unlock(&m->mutex);
}

size_t mkv_serve_rss_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long long size = 0, resident = 0;
    int n = fscanf(f, "%llu %llu", &size, &resident);
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return n == 2 && page > 0 ? (size_t)resident * (size_t)page : 0;
}

static void metric(mkv_strbuf *out, const char *name, const char *type, const char *help, double value) {
    mkv_strbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s ", name, help, name, type, name);
    mkv_strbuf_json_number(out, value); /* a finite decimal, which Prometheus reads */
    mkv_strbuf_puts(out, "\n");
}

void mkv_serve_metrics_render(mkv_serve_metrics *m, const mkv_serve_gauges *g, mkv_strbuf *out) {
    pthread_mutex_lock(&m->mutex);
    mkv_strbuf_puts(out, "# HELP maskkv_requests_total HTTP requests answered, by route and status code.\n"
                         "# TYPE maskkv_requests_total counter\n");
    for (int i = 0; i < m->n_series; i++)
        mkv_strbuf_printf(out, "maskkv_requests_total{route=\"%s\",code=\"%d\"} %llu\n", m->requests[i].route,
                          m->requests[i].code, (unsigned long long)m->requests[i].count);
    metric(out, "maskkv_requests_rejected_total", "counter", "Requests refused with 503 because the queue was full.",
           (double)m->rejected);
    metric(out, "maskkv_generations_completed_total", "counter", "Generations that ran to their end.", (double)m->completed);
    metric(out, "maskkv_generations_cancelled_total", "counter", "Generations stopped because the client disconnected.",
           (double)m->cancelled);
    metric(out, "maskkv_generations_timed_out_total", "counter", "Generations stopped by the per-request timeout.",
           (double)m->timed_out);
    metric(out, "maskkv_generations_failed_total", "counter", "Generations that ended with an error.", (double)m->failed);
    metric(out, "maskkv_prompt_tokens_total", "counter", "Prompt tokens of completed generations.", (double)m->prompt_tokens);
    metric(out, "maskkv_completion_tokens_total", "counter", "Tokens answered by completed generations.",
           (double)m->completion_tokens);
    metric(out, "maskkv_generation_seconds_total", "counter", "Seconds spent generating (completed generations).",
           m->generation_seconds);
    metric(out, "maskkv_queue_seconds_total", "counter", "Seconds completed generations waited in the queue.",
           m->queue_seconds);
    metric(out, "maskkv_tokens_per_second", "gauge", "Answer tokens per second of the last completed generation.",
           m->last_tokens_per_second);
    metric(out, "maskkv_kv_bytes", "gauge", "Peak K/V bytes of the last completed generation.", m->kv_bytes_last);
    metric(out, "maskkv_kv_bytes_max", "gauge", "Largest peak K/V bytes of any generation so far.", m->kv_bytes_max);
    pthread_mutex_unlock(&m->mutex);
    metric(out, "maskkv_queue_depth", "gauge", "Requests waiting for a generation slot.", g->queue_depth);
    metric(out, "maskkv_generations_running", "gauge", "Generations running now.", g->running);
    metric(out, "maskkv_parallel", "gauge", "Generations that may run at once (--parallel).", g->parallel);
    metric(out, "maskkv_queue_capacity", "gauge", "Requests that may wait (--queue).", g->queue_capacity);
    metric(out, "maskkv_resident_bytes", "gauge", "Resident set size of the server.", (double)mkv_serve_rss_bytes());
    metric(out, "maskkv_peak_rss_bytes", "gauge", "Peak resident set size of the server.", (double)mkv_peak_rss_bytes());
    metric(out, "maskkv_alloc_bytes", "gauge", "Bytes held by the engine's counted allocations.",
           (double)mkv_alloc_current_bytes());
    metric(out, "maskkv_uptime_seconds", "gauge", "Seconds since the server started.", g->uptime_seconds);
}
