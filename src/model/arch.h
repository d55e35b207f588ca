/* One table row per supported architecture, instead of `if (arch == DREAM)`
 * scattered through the code. */
#ifndef MKV_ARCH_H
#define MKV_ARCH_H

#include "maskkv.h"

typedef struct {
    mkv_arch arch;
    const char *name;              /* "llada", "dream": general.architecture */
    bool has_qkv_bias;
    bool shift_logits;             /* default when diffusion.shift_logits is absent */
    mkv_rope_style hf_rope_style;  /* RoPE style of the HF checkpoint */
    mkv_rope_style gguf_rope_style;/* RoPE style of llama.cpp's GGUF (after permute) */
    bool gguf_permutes_qk;         /* llama.cpp's converter permutes q/k rows */
    const char *default_pre;       /* tokenizer.ggml.pre */
} mkv_arch_desc;

const mkv_arch_desc *mkv_arch_by_name(const char *name);
const mkv_arch_desc *mkv_arch_by_id(mkv_arch arch);

#endif
