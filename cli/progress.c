#include "progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

double mkv_cli_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void mkv_progress_init(mkv_progress *p, bool force, bool quiet) {
    p->terminal = isatty(STDERR_FILENO);
    p->enabled = force || (p->terminal && !quiet);
    p->phase = "";
    p->start = p->last_draw = mkv_cli_seconds();
    p->drawn = false;
}

void mkv_progress_phase(mkv_progress *p, const char *phase) {
    mkv_progress_finish(p);
    p->phase = phase;
    p->start = mkv_cli_seconds();
    p->last_draw = 0;
}

static void format_seconds(char *buf, size_t size, double s) {
    if (s < 0 || s != s) snprintf(buf, size, "?");
    else if (s < 60) snprintf(buf, size, "%.0f s", s);
    else if (s < 3600) snprintf(buf, size, "%d min %02d s", (int)(s / 60), (int)s % 60);
    else snprintf(buf, size, "%d h %02d min", (int)(s / 3600), (int)(s / 60) % 60);
}

void mkv_progress_update(mkv_progress *p, long done, long total, const char *unit, double work, const char *work_unit,
                         const char *detail) {
    if (!p->enabled) return;
    double now = mkv_cli_seconds(), elapsed = now - p->start;
    bool last = done >= total;
    /* a terminal is redrawn up to 10 times a second, a log gets a line a second */
    if (!last && p->last_draw > 0 && now - p->last_draw < (p->terminal ? 0.1 : 1.0)) return;
    p->last_draw = now;
    char rate[64] = "", eta[48] = "";
    /* no rate until it means something (the first item of a phase may come
     * microseconds after its start) */
    if (work_unit && (elapsed >= 0.05 || (last && elapsed > 0))) {
        double r = work / elapsed;
        snprintf(rate, sizeof rate, r >= 10 ? ", %.0f %s/s" : ", %.2g %s/s", r, work_unit);
    }
    if (!last && done > 0) {
        char left[32];
        format_seconds(left, sizeof left, elapsed * (double)(total - done) / (double)done);
        snprintf(eta, sizeof eta, ", ETA %s", left);
    } else if (last) {
        char took[32];
        format_seconds(took, sizeof took, elapsed);
        snprintf(eta, sizeof eta, ", %s", took);
    }
    int width = 20, filled = total > 0 ? (int)(done * width / total) : width;
    if (filled > width) filled = width;
    fprintf(stderr, "%s%s [%.*s%*s] %s %ld/%ld%s%s%s%s%s", p->terminal ? "\r\033[K" : "", p->phase, filled,
            "####################", width - filled, "", unit, done, total, rate, eta, detail ? " " : "", detail ? detail : "",
            p->terminal ? "" : "\n");
    fflush(stderr);
    p->drawn = p->terminal;
}

void mkv_progress_finish(mkv_progress *p) {
    if (p->enabled && p->drawn) fputc('\n', stderr);
    p->drawn = false;
}
