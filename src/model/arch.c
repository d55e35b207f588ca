#include "model/arch.h"

#include <string.h>

static const mkv_arch_desc arch_table[MKV_ARCH_COUNT] = {
    [MKV_ARCH_LLADA] = {MKV_ARCH_LLADA, "llada", false, false, MKV_ROPE_NEOX, MKV_ROPE_NORM, true, "llama-bpe"},
    [MKV_ARCH_DREAM] = {MKV_ARCH_DREAM, "dream", true, true, MKV_ROPE_NEOX, MKV_ROPE_NEOX, false, "qwen2"},
};

const mkv_arch_desc *mkv_arch_by_name(const char *name) {
    for (int i = 0; i < MKV_ARCH_COUNT; i++)
        if (strcmp(arch_table[i].name, name) == 0) return &arch_table[i];
    return NULL;
}

const mkv_arch_desc *mkv_arch_by_id(mkv_arch arch) {
    if ((int)arch < 0 || arch >= MKV_ARCH_COUNT) return NULL;
    return &arch_table[arch];
}
