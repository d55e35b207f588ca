/* Read-only memory mapping of a whole file (weights are never copied at load). */
#ifndef MKV_MAPPED_FILE_H
#define MKV_MAPPED_FILE_H

#include <stddef.h>
#include <sys/stat.h>

#include "maskkv.h"

typedef struct {
    const unsigned char *data;
    size_t size;
} mkv_mapped_file;

/* Opens a regular file for reading without ever blocking (a FIFO or device
 * is refused with MKV_ERR_IO "not a regular file"); *out_st is its fstat. */
mkv_status mkv_open_regular(const char *path, int *out_fd, struct stat *out_st);
mkv_status mkv_map_file(const char *path, mkv_mapped_file *out);
void mkv_unmap_file(mkv_mapped_file *file);
/* Bytes of the mapping now resident in memory (mincore); 0 if unknown. */
size_t mkv_mapped_resident_bytes(const mkv_mapped_file *file);

/* mkv_read_text_file is public (maskkv.h). */

#endif
