/* Every file the engine writes goes through here, so that a user's file is
 * never destroyed:
 *
 *   - the bytes go to a new temporary file in the target's directory
 *     (".NAME.tmp-PID-N"), which is flushed, fsync'd and renamed over the
 *     target only when complete (then the directory is fsync'd too); the
 *     target is thus either the old file or the complete new one, even when
 *     the process is killed at any moment;
 *   - a failure (or mkv_safe_abort) removes only that temporary file, never
 *     a path the user named;
 *   - before anything is opened for writing, mkv_output_check refuses an
 *     output that exists and is not a regular file (a device, a FIFO, a
 *     directory), or that is the same file (device + inode) as an input,
 *     including every file inside an input directory (an HF checkpoint).
 *
 *   mkv_output_check -> mkv_safe_open -> fwrite(f->file) ... -> mkv_safe_commit
 *                                                          (or mkv_safe_abort)
 *
 * The open temporary files are also kept in a small table that a signal
 * handler can empty with mkv_safe_remove_temps_signal_safe (SIGINT, SIGTERM).
 * Errors: MKV_ERR_USAGE for a refused output, MKV_ERR_IO for a failed write. */
#ifndef MKV_SAFE_WRITE_H
#define MKV_SAFE_WRITE_H

#include <stddef.h>
#include <stdio.h>

#include "maskkv.h"

typedef struct {
    char *target; /* the path the user named */
    char *temp;   /* the temporary file being written, NULL once committed/aborted */
    FILE *file;   /* write here */
    int slot;     /* index in the table of open temporary files, -1 if none */
} mkv_safe_file;

/* Creates the temporary file beside `target` (with the target's permission
 * bits when it exists). Also refuses a non-regular target. */
mkv_status mkv_safe_open(mkv_safe_file *f, const char *target);
/* Flushes, fsyncs and renames the temporary file over the target; on any
 * failure the temporary file is removed and the target left as it was. */
mkv_status mkv_safe_commit(mkv_safe_file *f);
/* Closes and removes the temporary file (no-op when there is none). */
void mkv_safe_abort(mkv_safe_file *f);

/* mkv_output_check, mkv_safe_write_all and mkv_safe_remove_temps_signal_safe
 * are public (maskkv.h). */

#endif
