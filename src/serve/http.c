/* The HTTP side of the server (libmicrohttpd, one thread per connection):
 * request bodies up to the limit, the API key, routing, and the answers:
 * a JSON body, or for stream: true an SSE stream read from the job while it
 * runs. A connection thread that waits for a generation checks every 100 ms
 * whether its client has gone, and cancels the generation if so. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "serve/job.h"
#include "serve/prompt.h"
#include "serve/server.h"
#include "util/alloc.h"
#include "util/clock.h"

#define POLL_SECONDS 0.1

typedef struct {
    mkv_strbuf body;
    size_t received;
    bool too_large;
    mkv_serve_job *job;   /* an accepted generation (its own reference) */
} request_state;

/* ------------------------------------------------------------ answers */
static enum MHD_Result reply(mkv_server *s, struct MHD_Connection *c, const char *route, int status,
                             const char *content_type, const char *body, size_t len) {
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", content_type);
    if (status == 401) MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    mkv_serve_metrics_request(&s->metrics, route, status);
    return ok;
}

static enum MHD_Result reply_json(mkv_server *s, struct MHD_Connection *c, const char *route, int status, mkv_strbuf *b) {
    enum MHD_Result ok = mkv_strbuf_ok(b) ? reply(s, c, route, status, "application/json", b->data, b->len)
                                           : reply(s, c, route, 500, "application/json", "{\"error\":{\"message\":\"out of memory\","
                                                   "\"type\":\"server_error\",\"param\":null,\"code\":null}}", 88);
    mkv_strbuf_free(b);
    return ok;
}

static enum MHD_Result reply_error(mkv_server *s, struct MHD_Connection *c, const char *route, const mkv_serve_error *err) {
    mkv_strbuf b = {0};
    mkv_serve_format_error(&b, err);
    return reply_json(s, c, route, err->http_status, &b);
}

static enum MHD_Result reply_simple_error(mkv_server *s, struct MHD_Connection *c, const char *route, int status,
                                          const char *type, const char *code, const char *message) {
    mkv_serve_error err;
    mkv_serve_error_set(&err, status, type, "", code, "%s", message);
    return reply_error(s, c, route, &err);
}

/* ------------------------------------------------------------ clients that go away */
static int connection_fd(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    return info ? info->connect_fd : -1;
}

/* The peer closed (or reset) the connection: a peek reads end-of-file or fails. */
static bool client_gone(int fd) {
    if (fd < 0) return false;
    char byte;
    ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* ------------------------------------------------------------ SSE */
typedef struct {
    mkv_server *server;
    mkv_serve_job *job;
    size_t offset;
    int fd;
} stream_state;

static ssize_t read_stream(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    stream_state *st = cls;
    for (;;) {
        bool finished = false;
        size_t n = mkv_serve_job_read(st->job, st->offset, buf, max, POLL_SECONDS, &finished);
        if (n) {
            st->offset += n;
            return (ssize_t)n;
        }
        if (finished) return MHD_CONTENT_READER_END_OF_STREAM;
        if (client_gone(st->fd)) {
            mkv_serve_job_cancel(st->job);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
}

static void free_stream(void *cls) {
    stream_state *st = cls;
    mkv_serve_job_cancel(st->job); /* no-op once it has finished */
    mkv_serve_job_release(st->job);
    mkv_free(st);
}

static enum MHD_Result answer_stream(mkv_server *s, struct MHD_Connection *c, const char *route, mkv_serve_job *job) {
    stream_state *st = mkv_calloc(1, sizeof *st, "stream");
    if (!st) return MHD_NO;
    mkv_serve_job_retain(job);
    *st = (stream_state){.server = s, .job = job, .fd = connection_fd(c)};
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, read_stream, st, free_stream);
    if (!r) {
        free_stream(st);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    enum MHD_Result ok = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    mkv_serve_metrics_request(&s->metrics, route, 200);
    return ok;
}

static enum MHD_Result answer_when_done(mkv_server *s, struct MHD_Connection *c, const char *route, mkv_serve_job *job) {
    int fd = connection_fd(c);
    bool cancelled = false;
    while (!mkv_serve_job_wait_done(job, POLL_SECONDS))
        if (!cancelled && client_gone(fd)) {
            mkv_serve_job_cancel(job); /* it ends at its next step */
            cancelled = true;
        }
    const char *body;
    size_t len;
    int status = mkv_serve_job_result(job, &body, &len);
    if (status == 499) return MHD_NO; /* cancelled: nobody to answer */
    return reply(s, c, route, status, "application/json", body, len);
}

/* ------------------------------------------------------------ completions */
static enum MHD_Result completion(mkv_server *s, struct MHD_Connection *c, request_state *rs, mkv_serve_endpoint endpoint,
                                  const char *route) {
    if (atomic_load(&s->draining))
        return reply_simple_error(s, c, route, 503, "server_error", "shutting_down", "the server is shutting down");
    mkv_serve_request req;
    mkv_serve_error err;
    if (!mkv_serve_request_parse(rs->body.data ? rs->body.data : "", rs->body.len, endpoint, &s->limits, &req, &err))
        return reply_error(s, c, route, &err);
    int32_t *prompt = NULL;
    int n_prompt = 0;
    mkv_gen_params params;
    if (!mkv_serve_prepare(s->model, s->params.profile_path, &req, &prompt, &n_prompt, &params, &err)) {
        mkv_serve_request_free(&req);
        return reply_error(s, c, route, &err);
    }
    mkv_serve_answer_head head = {.created = (long long)time(NULL), .model = s->model_id, .endpoint = endpoint};
    snprintf(head.id, sizeof head.id, "%s-%llx%llx", endpoint == MKV_SERVE_CHAT ? "chatcmpl" : "cmpl",
             (unsigned long long)head.created, (unsigned long long)atomic_fetch_add(&s->next_id, 1));
    bool stream = req.stream;
    mkv_serve_job *job = mkv_serve_job_create(s->model, &head, stream, prompt, n_prompt, &params,
                                              s->params.timeout_seconds, &s->metrics);
    mkv_serve_request_free(&req);
    if (!job) return reply_simple_error(s, c, route, 503, "server_error", "out_of_memory", "out of memory");
    mkv_serve_job_retain(job); /* the queue's reference, released by the worker */
    if (!mkv_job_queue_submit(&s->queue, job)) {
        mkv_serve_job_release(job);
        mkv_serve_job_release(job);
        mkv_serve_metrics_event(&s->metrics, MKV_SERVE_REJECTED);
        char message[200];
        snprintf(message, sizeof message,
                 "the server is busy: %d generations run at once and %d may wait (--parallel, --queue); retry later",
                 s->params.parallel, s->params.queue);
        return reply_simple_error(s, c, route, 503, "server_error", "server_busy", message);
    }
    rs->job = job;
    atomic_fetch_add(&s->open_answers, 1);
    /* the generation may take long: no idle timeout from here on */
    MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned int)0);
    return stream ? answer_stream(s, c, route, job) : answer_when_done(s, c, route, job);
}

/* ------------------------------------------------------------ routing */
static bool authorized(const mkv_server *s, struct MHD_Connection *c) {
    if (!s->params.api_key) return true;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!h || strncmp(h, "Bearer ", 7)) return false;
    const char *given = h + 7, *key = s->params.api_key;
    size_t n = strlen(key), m = strlen(given);
    unsigned diff = (unsigned)(n ^ m); /* compared in time independent of where they differ */
    for (size_t i = 0; i < n; i++) diff |= (unsigned char)key[i] ^ (unsigned char)(i < m ? given[i] : 0);
    return diff == 0;
}

static enum MHD_Result route_request(mkv_server *s, struct MHD_Connection *c, const char *url, const char *method,
                                     request_state *rs) {
    bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
    static const struct {
        const char *path, *route;
        bool post;
    } routes[] = {
        {"/health", "health", false},          {"/v1/models", "models", false},
        {"/metrics", "metrics", false},        {"/v1/chat/completions", "chat_completions", true},
        {"/v1/completions", "completions", true},
    };
    int k = -1;
    for (int i = 0; i < (int)(sizeof routes / sizeof routes[0]); i++)
        if (!strcmp(url, routes[i].path)) k = i;
    if (k < 0) return reply_simple_error(s, c, "other", 404, "invalid_request_error", "not_found", "no such endpoint");
    const char *route = routes[k].route;
    if (routes[k].post ? !post : !get)
        return reply_simple_error(s, c, route, 405, "invalid_request_error", "method_not_allowed",
                                  routes[k].post ? "use POST" : "use GET");
    if (k == 0) {
        bool draining = atomic_load(&s->draining);
        const char *body = draining ? "{\"status\":\"shutting_down\"}" : "{\"status\":\"ok\"}";
        return reply(s, c, route, draining ? 503 : 200, "application/json", body, strlen(body));
    }
    if (!authorized(s, c))
        return reply_simple_error(s, c, route, 401, "invalid_request_error", "invalid_api_key",
                                  "missing or wrong API key (Authorization: Bearer KEY)");
    if (rs->too_large) {
        char message[120];
        snprintf(message, sizeof message, "the request body is larger than %zu bytes", s->params.max_body_bytes);
        return reply_simple_error(s, c, route, 413, "invalid_request_error", "request_too_large", message);
    }
    mkv_strbuf b = {0};
    if (k == 1) {
        mkv_serve_format_models(&b, s->model_id, (long long)s->started_unix);
        return reply_json(s, c, route, 200, &b);
    }
    if (k == 2) {
        int waiting = 0, running = 0;
        mkv_job_queue_counts(&s->queue, &waiting, &running);
        mkv_serve_gauges g = {waiting, running, s->params.parallel, s->params.queue, mkv_now_seconds() - s->started};
        mkv_serve_metrics_render(&s->metrics, &g, &b);
        enum MHD_Result ok = mkv_strbuf_ok(&b) ? reply(s, c, route, 200, "text/plain; version=0.0.4", b.data, b.len) : MHD_NO;
        mkv_strbuf_free(&b);
        return ok;
    }
    return completion(s, c, rs, k == 3 ? MKV_SERVE_CHAT : MKV_SERVE_COMPLETION, route);
}

enum MHD_Result mkv_serve_http_handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                      const char *version, const char *upload_data, size_t *upload_data_size,
                                      void **con_cls) {
    (void)version;
    mkv_server *s = cls;
    request_state *rs = *con_cls;
    if (!rs) { /* the headers: the body (if any) comes in the next calls */
        if (!(rs = mkv_calloc(1, sizeof *rs, "request state"))) return MHD_NO;
        *con_cls = rs;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        rs->received += n;
        if (rs->received > s->params.max_body_bytes) {
            rs->too_large = true; /* read on (and dropped) so that the client gets its 413 */
            mkv_strbuf_free(&rs->body);
            if (rs->received / 64 > s->params.max_body_bytes) return MHD_NO; /* not a client to answer */
        } else {
            mkv_strbuf_append(&rs->body, upload_data, n);
            if (!mkv_strbuf_ok(&rs->body)) return MHD_NO;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    return route_request(s, c, url, method, rs);
}

void mkv_serve_http_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)c, (void)toe;
    mkv_server *s = cls;
    request_state *rs = *con_cls;
    if (!rs) return;
    if (rs->job) {
        mkv_serve_job_cancel(rs->job); /* no-op once it has finished */
        mkv_serve_job_release(rs->job);
        atomic_fetch_sub(&s->open_answers, 1);
    }
    mkv_strbuf_free(&rs->body);
    mkv_free(rs);
    *con_cls = NULL;
}
