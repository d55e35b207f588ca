/* mkv_serve_run: the server's life. Loads the calibration profile, starts
 * the generation workers and libmicrohttpd, waits for mkv_serve_stop(), then
 * drains: stops listening, refuses new generations, waits for the accepted
 * ones (at most the request timeout and a little more), and shuts down. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <omp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "serve/job.h"
#include "serve/server.h"
#include "util/clock.h"

/* The stop request: a flag and a self-pipe written by mkv_serve_stop, which
 * a signal handler may call (write() and a sig_atomic_t are all it touches). */
static volatile sig_atomic_t stop_requested;
static int stop_pipe[2] = {-1, -1};

void mkv_serve_stop(void) {
    stop_requested = 1;
    int fd = stop_pipe[1];
    if (fd >= 0) {
        int saved = errno;
        ssize_t ignored = write(fd, "x", 1);
        (void)ignored;
        errno = saved;
    }
}

void mkv_serve_params_defaults(mkv_serve_params *p) {
    memset(p, 0, sizeof *p);
    p->host = "127.0.0.1";
    p->port = 8080;
    p->parallel = 1;
    p->queue = 8;
    p->max_body_bytes = (size_t)1 << 20;
    p->max_tokens = 1024;
    p->timeout_seconds = 300;
}

static int threads_per_generation;

static void worker_start(void *ctx) {
    (void)ctx;
    omp_set_num_threads(threads_per_generation);
}

/* The model's id: its file (or directory) name without .gguf. */
static void default_model_id(const char *path, char *id, size_t size) {
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/') len--;
    size_t start = len;
    while (start > 0 && path[start - 1] != '/') start--;
    size_t n = len - start;
    if (n > 5 && !strncmp(path + start + n - 5, ".gguf", 5)) n -= 5;
    snprintf(id, size, "%.*s", (int)n, path + start);
}

static mkv_status check_params(const mkv_serve_params *p) {
    if (!p->host || !p->host[0]) return mkv_fail(MKV_ERR_USAGE, "--host: empty address");
    if (p->port < 0 || p->port > 65535) return mkv_fail(MKV_ERR_USAGE, "--port: %d is out of range [0, 65535]", p->port);
    if (p->parallel < 1 || p->parallel > 256) return mkv_fail(MKV_ERR_USAGE, "--parallel: %d is out of range [1, 256]", p->parallel);
    if (p->queue < 0 || p->queue > 4096) return mkv_fail(MKV_ERR_USAGE, "--queue: %d is out of range [0, 4096]", p->queue);
    if (p->threads < 0) return mkv_fail(MKV_ERR_USAGE, "--threads: %d is out of range", p->threads);
    if (p->max_tokens < 1) return mkv_fail(MKV_ERR_USAGE, "--max-tokens must be at least 1");
    if (p->max_body_bytes < 64) return mkv_fail(MKV_ERR_USAGE, "--max-body must be at least 64 bytes");
    if (!(p->timeout_seconds > 0)) return mkv_fail(MKV_ERR_USAGE, "--timeout must be positive");
    if (p->api_key && !p->api_key[0]) return mkv_fail(MKV_ERR_USAGE, "--api-key: empty key");
    return MKV_OK;
}

/* The listening address: IPv4 or IPv6 literal (no name lookup). */
static mkv_status parse_address(const char *host, int port, struct sockaddr_storage *addr, bool *ipv6) {
    memset(addr, 0, sizeof *addr);
    struct sockaddr_in *a4 = (struct sockaddr_in *)addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)addr;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *ipv6 = false;
        return MKV_OK;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *ipv6 = true;
        return MKV_OK;
    }
    return mkv_fail(MKV_ERR_USAGE, "--host: '%s' is not an IPv4 or IPv6 address", host);
}

/* An explicit profile is checked once at start (file and model), so that a
 * wrong one stops the server instead of failing every maskkv request. */
static mkv_status check_profile(const mkv_model *model, const char *path) {
    if (!path) return MKV_OK;
    mkv_gen_params p;
    mkv_gen_params_defaults(&p);
    mkv_status st = mkv_gen_params_set_cache(&p, "maskkv");
    p.gen_len = p.steps = p.block_len = 1;
    p.profile_path = path;
    return st == MKV_OK ? mkv_gen_check(model, &p, 1) : st;
}

/* Waits for mkv_serve_stop (the pipe, or the flag set before it existed). */
static void wait_for_stop(void) {
    while (!stop_requested) {
        struct pollfd p = {.fd = stop_pipe[0], .events = POLLIN};
        poll(&p, 1, 500);
    }
}

static void drain(mkv_server *s, struct MHD_Daemon *d) {
    atomic_store(&s->draining, true);
    MHD_socket listen_fd = MHD_quiesce_daemon(d); /* no new connections */
    if (listen_fd != MHD_INVALID_SOCKET) close(listen_fd);
    double until = mkv_now_seconds() + s->params.timeout_seconds + 5;
    while (atomic_load(&s->open_answers) > 0 && mkv_now_seconds() < until) {
        struct timespec pause = {0, 20 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
}

mkv_status mkv_serve_run(const mkv_model *model, const mkv_serve_params *params) {
    mkv_status st = check_params(params);
    if (st != MKV_OK) return st;
    struct sockaddr_storage addr;
    bool ipv6 = false;
    if ((st = parse_address(params->host, params->port, &addr, &ipv6)) != MKV_OK) return st;
    static mkv_server server; /* one per process (the stop pipe is global) */
    mkv_server *s = &server;
    memset(s, 0, sizeof *s);
    s->model = model;
    s->params = *params;
    s->limits.max_tokens = params->max_tokens;
    s->started = mkv_now_seconds();
    s->started_unix = (long long)time(NULL);
    if (params->model_id && params->model_id[0]) snprintf(s->model_id, sizeof s->model_id, "%s", params->model_id);
    else default_model_id(mkv_model_path(model), s->model_id, sizeof s->model_id);
    if ((st = check_profile(model, params->profile_path)) != MKV_OK) return st;
    if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        return mkv_fail(MKV_ERR_IO, "cannot create the stop pipe: %s", strerror(errno));
    mkv_serve_metrics_init(&s->metrics);
    int cores = omp_get_max_threads();
    threads_per_generation = params->threads > 0 ? params->threads : (cores / params->parallel > 1 ? cores / params->parallel : 1);
    struct MHD_Daemon *d = NULL;
    st = mkv_job_queue_start(&s->queue, params->parallel, params->queue, mkv_serve_job_run, worker_start, s);
    if (st == MKV_OK) {
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ITC |
                         (ipv6 ? MHD_USE_IPv6 : 0);
        unsigned connections = (unsigned)(4 * (params->parallel + params->queue) + 64);
        d = MHD_start_daemon(flags, (uint16_t)params->port, NULL, NULL, mkv_serve_http_handle, s,
                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                             MHD_OPTION_CONNECTION_LIMIT, connections,
                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)15, /* slow or silent clients */
                             MHD_OPTION_NOTIFY_COMPLETED, mkv_serve_http_completed, s,
                             MHD_OPTION_END);
        if (!d) st = mkv_fail(MKV_ERR_IO, "cannot listen on %s port %d: %s", params->host, params->port,
                              errno ? strerror(errno) : "libmicrohttpd refused to start");
    }
    if (st == MKV_OK) {
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
        char url[160];
        snprintf(url, sizeof url, ipv6 ? "http://[%s]:%u" : "http://%s:%u", params->host,
                 info ? (unsigned)info->port : (unsigned)params->port);
        if (params->on_listening) params->on_listening(params->on_listening_ctx, url);
        wait_for_stop();
        drain(s, d);
        MHD_stop_daemon(d);
    }
    mkv_job_queue_stop(&s->queue);
    mkv_serve_metrics_destroy(&s->metrics);
    close(stop_pipe[0]);
    int write_end = stop_pipe[1];
    stop_pipe[0] = stop_pipe[1] = -1;
    close(write_end);
    stop_requested = 0;
    return st;
}
