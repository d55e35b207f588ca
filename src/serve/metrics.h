/* The server's counters and their Prometheus text exposition (GET /metrics,
 * format 0.0.4): requests by route and status, rejections, cancellations,
 * timeouts, tokens and generation seconds, KV bytes, plus gauges sampled at
 * scrape time (queue depth, running generations, RSS). Thread-safe. */
#ifndef MKV_SERVE_METRICS_H
#define MKV_SERVE_METRICS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

#define MKV_SERVE_METRICS_MAX_SERIES 64

typedef struct {
    pthread_mutex_t mutex;
    struct {
        char route[32];
        int code;
        uint64_t count;
    } requests[MKV_SERVE_METRICS_MAX_SERIES];
    int n_series;
    uint64_t rejected, cancelled, timed_out, failed, completed;
    uint64_t prompt_tokens, completion_tokens;
    double generation_seconds, queue_seconds, last_tokens_per_second;
    double kv_bytes_last, kv_bytes_max;
} mkv_serve_metrics;

/* Values that belong to other modules, read when /metrics is asked for. */
typedef struct {
    int queue_depth, running, parallel, queue_capacity;
    double uptime_seconds;
} mkv_serve_gauges;

void mkv_serve_metrics_init(mkv_serve_metrics *m);
void mkv_serve_metrics_destroy(mkv_serve_metrics *m);
/* One answered request (route: "chat_completions", "completions", "models", ...). */
void mkv_serve_metrics_request(mkv_serve_metrics *m, const char *route, int http_status);
typedef enum { MKV_SERVE_REJECTED, MKV_SERVE_CANCELLED, MKV_SERVE_TIMED_OUT, MKV_SERVE_FAILED } mkv_serve_event;
void mkv_serve_metrics_event(mkv_serve_metrics *m, mkv_serve_event event);
/* A finished generation. */
void mkv_serve_metrics_generation(mkv_serve_metrics *m, int prompt_tokens, int completion_tokens, double seconds,
                                  double queue_seconds, double kv_bytes);
void mkv_serve_metrics_render(mkv_serve_metrics *m, const mkv_serve_gauges *g, mkv_strbuf *out);
/* Resident set size now (/proc/self/statm), 0 when unknown. */
size_t mkv_serve_rss_bytes(void);

#endif
