/* One accepted generation request, shared by the connection thread that
 * answers it and the worker thread that runs it (reference counted).
 *
 * The worker runs the public mkv_generate with a step callback that
 *  - stops the generation (MKV_ERR_CANCELLED) when the client has gone
 *    (mkv_serve_job_cancel) or the per-request deadline has passed,
 *  - for a streamed request, appends one SSE chunk per step that unmasked
 *    tokens: the text of the answer's committed prefix (up to its first
 *    masked position) that was not sent yet, so that the chunks' texts
 *    concatenate to the final answer.
 * The finished answer (the whole JSON body, or the last SSE events) is
 * appended to the same output, which the connection thread reads. */
#ifndef MKV_SERVE_JOB_H
#define MKV_SERVE_JOB_H

#include <stdbool.h>
#include <stddef.h>

#include "maskkv.h"
#include "serve/metrics.h"
#include "serve/responses.h"

typedef struct mkv_serve_job mkv_serve_job;

/* Takes ownership of `prompt` (mkv_malloc'd), also on failure (NULL). */
mkv_serve_job *mkv_serve_job_create(const mkv_model *model, const mkv_serve_answer_head *head, bool stream,
                                    int32_t *prompt, int n_prompt, const mkv_gen_params *params, double timeout_seconds,
                                    mkv_serve_metrics *metrics);
void mkv_serve_job_retain(mkv_serve_job *job);
void mkv_serve_job_release(mkv_serve_job *job);

/* The worker's part (mkv_job_queue's run callback). */
void mkv_serve_job_run(void *job, void *ctx);
/* The client has gone: the generation stops at its next step. */
void mkv_serve_job_cancel(mkv_serve_job *job);

/* Waits at most `seconds` for output past `offset` (or the end), then copies
 * up to `max` bytes of it. *finished: the job is done and everything up to
 * offset + returned bytes is all there is. */
size_t mkv_serve_job_read(mkv_serve_job *job, size_t offset, char *buf, size_t max, double seconds, bool *finished);
/* Non-streamed: waits at most `seconds` for the end; true once done. */
bool mkv_serve_job_wait_done(mkv_serve_job *job, double seconds);
/* Once done: the HTTP status and the whole body (owned by the job). */
int mkv_serve_job_result(mkv_serve_job *job, const char **body, size_t *len);

#endif
