#include "serve/job_queue.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "util/alloc.h"

static void *worker_main(void *arg) {
    mkv_job_queue *q = arg;
    if (q->worker_start) q->worker_start(q->ctx);
    pthread_mutex_lock(&q->mutex);
    for (;;) {
        while (q->count == 0 && !q->stopping) pthread_cond_wait(&q->wake, &q->mutex);
        if (q->count == 0) break; /* stopping, and nothing left to run */
        void *job = q->ring[q->head];
        q->head = (q->head + 1) % q->capacity;
        q->count--;
        q->running++;
        pthread_mutex_unlock(&q->mutex);
        q->run(job, q->ctx);
        pthread_mutex_lock(&q->mutex);
        q->running--;
        pthread_cond_broadcast(&q->idle);
    }
    pthread_mutex_unlock(&q->mutex);
    return NULL;
}

mkv_status mkv_job_queue_start(mkv_job_queue *q, int n_workers, int capacity, void (*run)(void *job, void *ctx),
                               void (*worker_start)(void *ctx), void *ctx) {
    memset(q, 0, sizeof *q);
    if (n_workers < 1 || capacity < 0) return mkv_fail(MKV_ERR_USAGE, "job queue: %d workers, capacity %d", n_workers, capacity);
    /* a slot per worker too: a submitted job waits in the ring until a worker takes it */
    q->capacity = capacity + n_workers;
    q->run = run;
    q->worker_start = worker_start;
    q->ctx = ctx;
    q->ring = mkv_calloc((size_t)q->capacity, sizeof *q->ring, "job queue");
    q->workers = mkv_calloc((size_t)n_workers, sizeof *q->workers, "worker threads");
    if (!q->ring || !q->workers) {
        mkv_free(q->ring);
        mkv_free(q->workers);
        return mkv_last_status();
    }
    pthread_mutex_init(&q->mutex, NULL);
    pthread_cond_init(&q->wake, NULL);
    pthread_cond_init(&q->idle, NULL);
    for (; q->n_workers < n_workers; q->n_workers++) {
        int rc = pthread_create(&q->workers[q->n_workers], NULL, worker_main, q);
        if (rc != 0) {
            mkv_job_queue_stop(q);
            return mkv_fail(MKV_ERR_NOMEM, "cannot start worker thread %d: %s", q->n_workers + 1, strerror(rc));
        }
    }
    return MKV_OK;
}

bool mkv_job_queue_submit(mkv_job_queue *q, void *job) {
    pthread_mutex_lock(&q->mutex);
    /* running + waiting may reach n_workers + capacity */
    bool taken = !q->stopping && q->count + q->running < q->capacity;
    if (taken) {
        q->ring[(q->head + q->count) % q->capacity] = job;
        q->count++;
        pthread_cond_signal(&q->wake);
    }
    pthread_mutex_unlock(&q->mutex);
    return taken;
}

void mkv_job_queue_counts(mkv_job_queue *q, int *waiting, int *running) {
    pthread_mutex_lock(&q->mutex);
    *waiting = q->count;
    *running = q->running;
    pthread_mutex_unlock(&q->mutex);
}

bool mkv_job_queue_wait_idle(mkv_job_queue *q, double seconds) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)seconds;
    until.tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
    if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&q->mutex);
    int rc = 0;
    while ((q->count > 0 || q->running > 0) && rc != ETIMEDOUT) rc = pthread_cond_timedwait(&q->idle, &q->mutex, &until);
    bool idle = q->count == 0 && q->running == 0;
    pthread_mutex_unlock(&q->mutex);
    return idle;
}

void mkv_job_queue_stop(mkv_job_queue *q) {
    if (!q->ring) return;
    pthread_mutex_lock(&q->mutex);
    q->stopping = true;
    pthread_cond_broadcast(&q->wake);
    pthread_mutex_unlock(&q->mutex);
    for (int i = 0; i < q->n_workers; i++) pthread_join(q->workers[i], NULL);
    pthread_cond_destroy(&q->wake);
    pthread_cond_destroy(&q->idle);
    pthread_mutex_destroy(&q->mutex);
    mkv_free(q->ring);
    mkv_free(q->workers);
    memset(q, 0, sizeof *q);
}
