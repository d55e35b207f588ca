#include "util/mapped_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/alloc.h"

mkv_status mkv_open_regular(const char *path, int *out_fd, struct stat *out_st) {
    *out_fd = -1;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is then
     * refused below. A regular file ignores the flag. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return mkv_fail(MKV_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, out_st) != 0) {
        int e = errno;
        close(fd);
        return mkv_fail(MKV_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(out_st->st_mode)) {
        close(fd);
        return mkv_fail(MKV_ERR_IO, "%s: not a regular file", path);
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0) (void)fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    *out_fd = fd;
    return MKV_OK;
}

mkv_status mkv_map_file(const char *path, mkv_mapped_file *out) {
    out->data = NULL;
    out->size = 0;
    int fd;
    struct stat st;
    mkv_status status = mkv_open_regular(path, &fd, &st);
    if (status) return status;
    if (st.st_size == 0) {
        close(fd);
        return mkv_fail(MKV_ERR_FORMAT, "%s: file is empty", path);
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED) return mkv_fail(MKV_ERR_IO, "%s: cannot mmap: %s", path, strerror(e));
    out->data = p;
    out->size = (size_t)st.st_size;
    return MKV_OK;
}

void mkv_unmap_file(mkv_mapped_file *file) {
    if (file->data) munmap((void *)file->data, file->size);
    file->data = NULL;
    file->size = 0;
}

mkv_status mkv_read_text_file(const char *path, size_t max_bytes, char **out_text, size_t *out_len) {
    *out_text = NULL;
    if (out_len) *out_len = 0;
    int fd;
    struct stat st;
    mkv_status status = mkv_open_regular(path, &fd, &st);
    if (status) return status;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        int e = errno;
        close(fd);
        return mkv_fail(MKV_ERR_IO, "%s: cannot open: %s", path, strerror(e));
    }
    if ((size_t)st.st_size > max_bytes) {
        fclose(f);
        return mkv_fail(MKV_ERR_FORMAT, "%s: file is %lld bytes, more than the %zu allowed", path,
                        (long long)st.st_size, max_bytes);
    }
    char *text = mkv_malloc((size_t)st.st_size + 1, path);
    if (!text) {
        fclose(f);
        return mkv_last_status();
    }
    size_t n = fread(text, 1, (size_t)st.st_size, f);
    fclose(f);
    if (n != (size_t)st.st_size) {
        mkv_free(text);
        return mkv_fail(MKV_ERR_IO, "%s: short read", path);
    }
    text[n] = '\0';
    *out_text = text;
    if (out_len) *out_len = n;
    return MKV_OK;
}

size_t mkv_mapped_resident_bytes(const mkv_mapped_file *file) {
    if (!file->data || file->size == 0) return 0;
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0) return 0;
    size_t n_pages = (file->size + (size_t)page - 1) / (size_t)page;
    unsigned char *vec = malloc(n_pages);
    if (!vec) return 0;
    size_t resident = 0;
    if (mincore((void *)file->data, file->size, vec) == 0)
        for (size_t i = 0; i < n_pages; i++) resident += (vec[i] & 1) ? (size_t)page : 0;
    free(vec);
    return resident > file->size ? file->size : resident;
}
