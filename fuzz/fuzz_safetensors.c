/* safetensors: the 8-byte length, the JSON header (dtypes, shapes,
 * data_offsets, overlap, duplicate names, __metadata__), then every tensor
 * view: found by name, its bytes inside the input and matching its shape. */
#include "formats/safetensors.h"
#include "fuzz_common.h"
#include "util/dtype.h"

static volatile unsigned char sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t before = mkv_alloc_current_bytes();
    mkv_safetensors *st = NULL;
    mkv_status status = mkv_safetensors_open_memory(data, size, "fuzz.safetensors", &st);
    fuzz_check_error(status);
    if (status != MKV_OK) {
        FUZZ_ASSERT(st == NULL, "handle returned with an error");
        FUZZ_CHECK_NO_COUNTED_LEAK(before);
        return 0;
    }
    int64_t n = mkv_safetensors_n_tensors(st);
    FUZZ_ASSERT(mkv_safetensors_tensor(st, -1) == NULL && mkv_safetensors_tensor(st, n) == NULL, "index out of range accepted");
    const unsigned char *prev_end = NULL;
    for (int64_t i = 0; i < n; i++) {
        const mkv_tensor *t = mkv_safetensors_tensor(st, i);
        FUZZ_ASSERT(t != NULL, "tensor %lld missing", (long long)i);
        FUZZ_ASSERT(mkv_safetensors_find(st, t->name) == t, "tensor '%s' not found by name", t->name);
        const mkv_dtype_traits *traits = mkv_dtype_info(t->dtype);
        FUZZ_ASSERT(traits && traits->block_size == 1, "dtype %d", (int)t->dtype);
        uint64_t elements = 1;
        for (int d = 0; d < MKV_MAX_DIMS; d++) {
            FUZZ_ASSERT(t->ne[d] >= 1, "dimension %d of '%s'", d, t->name);
            elements *= (uint64_t)t->ne[d];
        }
        FUZZ_ASSERT(t->n_bytes == elements * traits->block_bytes, "size of '%s'", t->name);
        const unsigned char *p = t->data;
        FUZZ_ASSERT(p >= data + 8 && p + t->n_bytes <= data + size, "tensor '%s' outside the input", t->name);
        FUZZ_ASSERT(!prev_end || p >= prev_end, "tensors overlap or are out of data order");
        prev_end = p + t->n_bytes;
        sink ^= p[0] ^ p[t->n_bytes - 1];
        float first;
        traits->to_float(p, &first, 1);
    }
    FUZZ_ASSERT(mkv_safetensors_find(st, "__metadata__") == NULL, "__metadata__ taken as a tensor");
    mkv_safetensors_close(st);
    FUZZ_CHECK_NO_COUNTED_LEAK(before);
    return 0;
}
