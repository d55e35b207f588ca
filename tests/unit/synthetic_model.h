/* A small random-weight model built in memory (no file), for tests of the
 * forward pass, the cache engine and the samplers; and a full forward pass. */
#ifndef MKV_TEST_SYNTHETIC_MODEL_H
#define MKV_TEST_SYNTHETIC_MODEL_H

#include "model/forward.h"
#include "model/model.h"

/* arch LLaDA (NEOX RoPE, no biases) or Dream (GQA, q/k/v biases, shifted logits). */
mkv_model *synthetic_model(mkv_arch arch, int n_layers, int d_model, int n_heads, int n_kv_heads, int d_ff, int n_vocab,
                           unsigned seed);
void synthetic_model_free(mkv_model *model);
/* The cache tests' pair: arch 0 a 3-layer LLaDA (MHA, 4 heads), 1 the same
 * shape as Dream (GQA, 2 KV heads); d_model 32, d_ff 64, 60 tokens. */
mkv_model *synthetic_llada_or_dream(int arch, unsigned seed);

/* Logits [n][n_vocab] of every position of `ids` (one full pass, no cache;
 * malloc'ed), or NULL on failure. */
float *mkv_test_forward_all(const mkv_model *m, const int32_t *ids, int n);
/* The same in a given precision (F32 or BF16; BF16 stores K/V in bf16). */
float *mkv_test_forward_all_as(const mkv_model *m, mkv_compute compute, const int32_t *ids, int n);

#endif
