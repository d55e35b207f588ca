#include "util/safe_write.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/alloc.h"

/* ------------------------------------------------------------ output checks */

static bool same_file(const struct stat *a, const struct stat *b) { return a->st_dev == b->st_dev && a->st_ino == b->st_ino; }

/* MKV_OK when no file directly inside `dir` is `target`. */
static mkv_status check_dir_entries(const char *target, const struct stat *out, const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return MKV_OK; /* an unreadable directory is reported by its reader */
    size_t dir_len = strlen(dir);
    mkv_status st = MKV_OK;
    struct dirent *e;
    while (!st && (e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        size_t n = dir_len + strlen(e->d_name) + 2;
        char *path = mkv_malloc(n, "input directory entry");
        if (!path) {
            st = mkv_last_status();
            break;
        }
        snprintf(path, n, "%s/%s", dir, e->d_name);
        struct stat in;
        if (stat(path, &in) == 0 && same_file(out, &in))
            st = mkv_fail(MKV_ERR_USAGE, "output %s is the input file %s; choose another output path", target, path);
        mkv_free(path);
    }
    closedir(d);
    return st;
}

static mkv_status check_not_special(const char *target, struct stat *out, bool *exists) {
    *exists = false;
    if (stat(target, out) != 0) return MKV_OK; /* a new file (a bad directory fails at open) */
    *exists = true;
    if (S_ISDIR(out->st_mode)) return mkv_fail(MKV_ERR_USAGE, "output %s is a directory; give a file path", target);
    if (!S_ISREG(out->st_mode))
        return mkv_fail(MKV_ERR_USAGE, "output %s exists and is not a regular file (a device, FIFO or socket); refusing to replace it",
                        target);
    return MKV_OK;
}

mkv_status mkv_output_check(const char *target, const char *const *inputs, int n_inputs) {
    struct stat out;
    bool exists;
    mkv_status st = check_not_special(target, &out, &exists);
    if (st || !exists) return st;
    for (int i = 0; i < n_inputs; i++) {
        if (!inputs[i]) continue;
        struct stat in;
        if (stat(inputs[i], &in) != 0) continue; /* a missing input is reported by its reader */
        if (same_file(&out, &in))
            return mkv_fail(MKV_ERR_USAGE, "output %s is the input %s; choose another output path", target, inputs[i]);
        if (S_ISDIR(in.st_mode) && (st = check_dir_entries(target, &out, inputs[i]))) return st;
    }
    return MKV_OK;
}

/* ------------------------------------------------------------ temporary files */

/* Paths of the open temporary files, for a signal handler: a slot is set
 * after the file exists and cleared before it is renamed or removed. */
#define MAX_OPEN_TEMPS 16
static char *volatile open_temps[MAX_OPEN_TEMPS];

static int take_slot(char *temp) {
    for (int i = 0; i < MAX_OPEN_TEMPS; i++)
        if (__sync_bool_compare_and_swap(&open_temps[i], NULL, temp)) return i;
    return -1;
}

static void release_slot(mkv_safe_file *f) {
    if (f->slot >= 0) open_temps[f->slot] = NULL;
    f->slot = -1;
}

void mkv_safe_remove_temps_signal_safe(void) {
    for (int i = 0; i < MAX_OPEN_TEMPS; i++) {
        char *path = open_temps[i];
        if (path) unlink(path);
    }
}

static void free_names(mkv_safe_file *f) {
    mkv_free(f->target);
    mkv_free(f->temp);
    f->target = f->temp = NULL;
}

mkv_status mkv_safe_open(mkv_safe_file *f, const char *target) {
    memset(f, 0, sizeof *f);
    f->slot = -1;
    struct stat old;
    bool exists;
    mkv_status st = check_not_special(target, &old, &exists);
    if (st) return st;
    const char *slash = strrchr(target, '/');
    size_t dir_len = slash ? (size_t)(slash - target) + 1 : 0;
    const char *base = slash ? slash + 1 : target;
    if (!base[0]) return mkv_fail(MKV_ERR_USAGE, "output %s names a directory; give a file path", target);
    size_t base_len = strlen(base);
    if (base_len > 200) base_len = 200; /* room for the suffix within NAME_MAX */
    size_t cap = dir_len + base_len + 64;
    f->target = mkv_malloc(strlen(target) + 1, "output path");
    f->temp = mkv_malloc(cap, "temporary output path");
    if (!f->target || !f->temp) {
        free_names(f);
        return mkv_last_status();
    }
    strcpy(f->target, target);
    static unsigned counter;
    int fd = -1;
    /* the fatal signals wait until the temporary file is in open_temps: one
     * arriving between open() and take_slot() would leave it behind */
    sigset_t fatal, previous;
    sigemptyset(&fatal);
    sigaddset(&fatal, SIGINT);
    sigaddset(&fatal, SIGTERM);
    sigaddset(&fatal, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &fatal, &previous);
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        snprintf(f->temp, cap, "%.*s.%.*s.tmp-%ld-%u", (int)dir_len, target, (int)base_len, base, (long)getpid(),
                 __sync_fetch_and_add(&counter, 1));
        fd = open(f->temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    int open_errno = errno;
    if (fd >= 0) f->slot = take_slot(f->temp);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    if (fd < 0) {
        free_names(f);
        return mkv_fail(MKV_ERR_IO, "%s: cannot open for writing: %s", target, strerror(open_errno));
    }
    if (exists) (void)fchmod(fd, old.st_mode & 07777);
    f->file = fdopen(fd, "wb");
    if (!f->file) {
        int e = errno;
        close(fd);
        mkv_safe_abort(f);
        return mkv_fail(MKV_ERR_IO, "%s: cannot write: %s", target, strerror(e));
    }
    return MKV_OK;
}

void mkv_safe_abort(mkv_safe_file *f) {
    if (f->file) fclose(f->file);
    f->file = NULL;
    release_slot(f);
    if (f->temp) unlink(f->temp);
    free_names(f);
}

static void sync_directory(const char *target) {
    const char *slash = strrchr(target, '/');
    char dir[4096];
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == target) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - target), target);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

mkv_status mkv_safe_commit(mkv_safe_file *f) {
    if (!f->file) return mkv_fail(MKV_ERR_IO, "%s: output is not open", f->target ? f->target : "(none)");
    int e = 0;
    if (fflush(f->file) != 0 || ferror(f->file)) e = errno ? errno : EIO;
    if (!e && fsync(fileno(f->file)) != 0) e = errno;
    if (fclose(f->file) != 0 && !e) e = errno;
    f->file = NULL;
    if (!e && rename(f->temp, f->target) != 0) e = errno;
    if (e) {
        mkv_status st = mkv_fail(MKV_ERR_IO, "%s: write failed: %s (the file is unchanged)", f->target, strerror(e));
        mkv_safe_abort(f);
        return st;
    }
    release_slot(f);
    sync_directory(f->target);
    free_names(f);
    return MKV_OK;
}

mkv_status mkv_safe_write_all(const char *target, const void *data, size_t n_bytes) {
    mkv_safe_file f;
    mkv_status st = mkv_safe_open(&f, target);
    if (st) return st;
    if (n_bytes && fwrite(data, 1, n_bytes, f.file) != n_bytes) {
        st = mkv_fail(MKV_ERR_IO, "%s: write failed: %s (the file is unchanged)", target, strerror(errno ? errno : EIO));
        mkv_safe_abort(&f);
        return st;
    }
    return mkv_safe_commit(&f);
}
