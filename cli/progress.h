/* Progress of long work on stderr, for every command (generate's prefill and
 * denoising steps, calibrate, eval, convert): one line that is redrawn in
 * place on a terminal, and with --progress on any stderr as whole lines at
 * most once a second (a log file gets readable lines, not carriage returns).
 * Never on stdout, so `--json` output stays machine-readable.
 *
 *   mkv_progress p;
 *   mkv_progress_init(&p, "prefill", force);
 *   mkv_progress_update(&p, done, total, "layer", n_tokens_done, "tok");
 *   mkv_progress_finish(&p);
 */
#ifndef MKV_CLI_PROGRESS_H
#define MKV_CLI_PROGRESS_H

#include <stdbool.h>

typedef struct {
    bool enabled;       /* stderr is a terminal, or --progress            */
    bool terminal;      /* redraw in place                                */
    const char *phase;  /* "prefill", "denoise", "calibrate", ...         */
    double start;       /* when the phase began (monotonic seconds)       */
    double last_draw;
    bool drawn;         /* a line of this phase is on the screen          */
} mkv_progress;

/* Enabled when stderr is a terminal or `force` (--progress); `quiet` turns
 * it off on a terminal unless forced (e.g. --json). */
void mkv_progress_init(mkv_progress *p, bool force, bool quiet);
/* Starts a phase (a previous one is finished first). */
void mkv_progress_phase(mkv_progress *p, const char *phase);
/* `done` of `total` items (unit names them: "layer", "step", "sample"),
 * with a rate of `work` units of `work_unit` per second when work_unit is
 * non-NULL (e.g. tokens for the prefill), the ETA from the items' rate, and
 * an optional detail (a tensor name, an eval cell). */
void mkv_progress_update(mkv_progress *p, long done, long total, const char *unit, double work, const char *work_unit,
                         const char *detail);
/* Ends the current phase's line. */
void mkv_progress_finish(mkv_progress *p);

/* Monotonic wall clock in seconds (progress rates, command timings). */
double mkv_cli_seconds(void);

#endif
