/* The state of a running server, shared by its lifecycle (serve.c: start,
 * drain, stop) and its HTTP handlers (http.c, libmicrohttpd callbacks). */
#ifndef MKV_SERVE_SERVER_H
#define MKV_SERVE_SERVER_H

#include <microhttpd.h>
#include <stdatomic.h>

#include "serve/job_queue.h"
#include "serve/metrics.h"
#include "serve/request.h"

typedef struct {
    const mkv_model *model;
    mkv_serve_params params;
    char model_id[128];
    mkv_job_queue queue;
    mkv_serve_metrics metrics;
    mkv_serve_limits limits;
    atomic_bool draining;         /* new generations get 503 */
    atomic_int open_answers;      /* accepted generations whose request has not ended */
    atomic_ullong next_id;
    double started;               /* monotonic seconds at start */
    long long started_unix;
} mkv_server;

/* libmicrohttpd's access handler and request-completed callback (cls = the server). */
enum MHD_Result mkv_serve_http_handle(void *cls, struct MHD_Connection *connection, const char *url, const char *method,
                                      const char *version, const char *upload_data, size_t *upload_data_size,
                                      void **con_cls);
void mkv_serve_http_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                              enum MHD_RequestTerminationCode toe);

#endif
