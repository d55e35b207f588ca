/* Test helper for tests/python/check_dequant_gguf.py:
 *
 *     dequant_gguf IN.gguf OUT.f32 [ref|avx2|avx512]
 *
 * writes every tensor of IN.gguf as little-endian f32, in tensor order, to
 * OUT.f32. `ref` (default) uses the dtype's scalar to_float; `avx2` and
 * `avx512` unpack the rows through that ISA's matmul panel packing
 * (pack_w_panel), i.e. the values the fast matmul multiplies. Exit 77 when
 * the CPU lacks the ISA, 1 on any error (message on stderr). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/gguf.h"
#include "kernels/kernels.h"
#include "kernels/kernels_internal.h"
#include "util/dtype.h"

static int64_t n_elements(const mkv_tensor *t) {
    int64_t n = 1;
    for (int d = 0; d < MKV_MAX_DIMS; d++) n *= t->ne[d];
    return n;
}

/* Rows of nr through pack_w_panel, k blocks of MKV_GEMM_KC, transposed back. */
static void unpack_with_panels(const mkv_isa_ops *ops, const mkv_tensor *t, float *out) {
    const int64_t in = t->ne[0], rows = n_elements(t) / in, nr = ops->nr;
    const size_t row_bytes = mkv_dtype_row_bytes(t->dtype, in);
    float *panel = aligned_alloc(64, (size_t)MKV_GEMM_KC * (size_t)nr * sizeof(float));
    for (int64_t r0 = 0; r0 < rows; r0 += nr) {
        const void *row_ptrs[64];
        for (int64_t c = 0; c < nr; c++)
            row_ptrs[c] = (const unsigned char *)t->data + (size_t)(r0 + c < rows ? r0 + c : rows - 1) * row_bytes;
        for (int64_t k0 = 0; k0 < in; k0 += MKV_GEMM_KC) {
            const int64_t len = in - k0 < MKV_GEMM_KC ? in - k0 : MKV_GEMM_KC;
            ops->pack_w_panel(t->dtype, row_ptrs, k0, len, panel);
            for (int64_t c = 0; c < nr && r0 + c < rows; c++)
                for (int64_t k = 0; k < len; k++) out[(r0 + c) * in + k0 + k] = panel[k * nr + c];
        }
    }
    free(panel);
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: dequant_gguf IN.gguf OUT.f32 [ref|avx2|avx512]\n");
        return 1;
    }
    const char *isa = argc == 4 ? argv[3] : "ref";
    const mkv_isa_ops *ops = NULL;
    if (strcmp(isa, "ref") != 0) {
        if (!mkv_kernels_force_isa(isa)) {
            printf("this CPU has no %s\n", isa);
            return 77;
        }
        ops = mkv_kernels_ops();
    }
    mkv_gguf *gguf = NULL;
    if (mkv_gguf_open(argv[1], &gguf) != MKV_OK) {
        fprintf(stderr, "dequant_gguf: %s\n", mkv_last_error());
        return 1;
    }
    FILE *f = fopen(argv[2], "wb");
    if (!f) {
        fprintf(stderr, "dequant_gguf: cannot write %s\n", argv[2]);
        return 1;
    }
    int rc = 0;
    for (int64_t i = 0; i < mkv_gguf_n_tensors(gguf) && rc == 0; i++) {
        const mkv_tensor *t = mkv_gguf_tensor(gguf, i);
        const int64_t n = n_elements(t);
        float *values = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
        if (ops) unpack_with_panels(ops, t, values);
        else mkv_dtype_info(t->dtype)->to_float(t->data, values, n);
        if (fwrite(values, sizeof(float), (size_t)n, f) != (size_t)n) rc = 1;
        free(values);
    }
    if (fclose(f) != 0) rc = 1;
    mkv_gguf_close(gguf);
    if (rc) fprintf(stderr, "dequant_gguf: write error on %s\n", argv[2]);
    return rc;
}
