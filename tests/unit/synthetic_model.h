/* A small random-weight model built in memory (no file), for tests of the
 * forward pass, the cache engine and the samplers; and a full forward pass. */
#ifndef MKV_TEST_SYNTHETIC_MODEL_H
#define MKV_TEST_SYNTHETIC_MODEL_H

#include "model/model.h"

/* arch LLaDA (NEOX RoPE, no biases) or Dream (GQA, q/k/v biases, shifted logits). */
mkv_model *synthetic_model(mkv_arch arch, int n_layers, int d_model, int n_heads, int n_kv_heads, int d_ff, int n_vocab,
                           unsigned seed);
void synthetic_model_free(mkv_model *model);

/* Logits [n][n_vocab] of every position of `ids` (one full pass, no cache;
 * malloc'ed), or NULL on failure. */
float *mkv_test_forward_all(const mkv_model *m, const int32_t *ids, int n);

#endif
