/* Monotonic wall clock in seconds (timings of passes and steps). */
#ifndef MKV_CLOCK_H
#define MKV_CLOCK_H

#include <time.h>

static inline double mkv_now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Seconds since *since, which becomes now (consecutive laps of one timer). */
static inline double mkv_lap(double *since) {
    double now = mkv_now_seconds(), elapsed = now - *since;
    *since = now;
    return elapsed;
}

#endif
