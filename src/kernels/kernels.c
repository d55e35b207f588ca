/* Run-time dispatch of the kernels in kernels.h: which SIMD path the CPU
 * supports, and the public entry points that pick it. */
#include <string.h>

#include "kernels/kernels.h"

void mkv_matmul(float *y, const float *x, int64_t n, const mkv_tensor *w, const float *bias) {
    mkv_matmul_ref(y, x, n, w, bias);
}
void mkv_attention(const mkv_attention_args *args) { mkv_attention_ref(args); }
void mkv_rmsnorm(float *out, const float *x, const float *weight, int64_t n_rows, int dim, float eps) {
    mkv_rmsnorm_ref(out, x, weight, n_rows, dim, eps);
}
void mkv_swiglu(float *out, const float *gate, const float *up, int64_t n) { mkv_swiglu_ref(out, gate, up, n); }
void mkv_rope(float *x, int64_t n_rows, int64_t row_stride, int n_heads, int head_dim, const int32_t *positions,
              float theta, mkv_rope_style style) {
    mkv_rope_ref(x, n_rows, row_stride, n_heads, head_dim, positions, theta, style);
}
void mkv_softmax(float *x, int64_t n) { mkv_softmax_ref(x, n); }

const char *mkv_kernels_isa(void) { return "scalar"; }
bool mkv_kernels_force_isa(const char *isa) { return strcmp(isa, "scalar") == 0; }
