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

mkv_status mkv_map_file(const char *path, mkv_mapped_file *out) {
    out->data = NULL;
    out->size = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return mkv_fail(MKV_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return mkv_fail(MKV_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return mkv_fail(MKV_ERR_IO, "%s: not a regular file", path);
    }
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
    FILE *f = fopen(path, "rb");
    if (!f) return mkv_fail(MKV_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return mkv_fail(MKV_ERR_IO, "%s: not a regular file", path);
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
