/* A bounded FIFO of jobs served by a fixed pool of worker threads: at most
 * `n_workers` jobs run at once, at most `capacity` more wait, and a submit
 * beyond that is refused at once (the server answers 503). Generic: a job is
 * an opaque pointer handed to `run` on a worker thread. */
#ifndef MKV_SERVE_JOB_QUEUE_H
#define MKV_SERVE_JOB_QUEUE_H

#include <pthread.h>
#include <stdbool.h>

#include "maskkv.h"

typedef struct {
    pthread_mutex_t mutex;
    pthread_cond_t wake;      /* a job arrived, or shutdown */
    pthread_cond_t idle;      /* a job finished */
    void **ring;              /* capacity slots */
    int capacity, head, count;
    int running;
    bool stopping;
    pthread_t *workers;
    int n_workers;
    void (*run)(void *job, void *ctx);
    void (*worker_start)(void *ctx); /* once on each worker thread before any job (may be NULL) */
    void *ctx;
} mkv_job_queue;

mkv_status mkv_job_queue_start(mkv_job_queue *q, int n_workers, int capacity, void (*run)(void *job, void *ctx),
                               void (*worker_start)(void *ctx), void *ctx);
/* false: the queue is full (or stopping); the job was not taken. */
bool mkv_job_queue_submit(mkv_job_queue *q, void *job);
void mkv_job_queue_counts(mkv_job_queue *q, int *waiting, int *running);
/* Blocks until no job waits or runs, or `seconds` passed; true when idle. */
bool mkv_job_queue_wait_idle(mkv_job_queue *q, double seconds);
/* Runs what is queued, then joins the workers and frees the queue. */
void mkv_job_queue_stop(mkv_job_queue *q);

#endif
