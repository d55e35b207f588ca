/* Reading the golden vectors of tests/golden/ (tools/make_tiny_models.py,
 * tools/make_bf16_goldens.py): token ids, raw f32 logits, the official
 * generation requests of gen_<k>.json, and the distance the tests report. */
#ifndef MKV_TEST_GOLDEN_FILES_H
#define MKV_TEST_GOLDEN_FILES_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "maskkv.h"

/* Decimal ids separated by white space (malloc'ed, *n of them), NULL when
 * the file is missing. */
int32_t *golden_read_ids(const char *path, int *n);
/* Exactly `expected` little-endian floats (malloc'ed), NULL when the file is
 * missing or has another size. */
float *golden_read_f32(const char *path, size_t expected);
/* tests/golden/<dir>/logits_<k>.ids, NULL when absent; and
 * logits_<k>.<suffix> ("f32", "torch-bf16.f32") of `count` floats. */
int32_t *golden_read_sequence(const char *golden_dir, int k, int *n);
float *golden_read_logits(const char *golden_dir, int k, const char *suffix, size_t count);
/* max |a - b| / max |b| */
double golden_relative_error(const float *a, const float *b, size_t n);
/* A JSON array of numbers as ids (malloc'ed, *n of them). */
int32_t *golden_json_ids(const cJSON *array, int *n);
/* tests/golden/<dir>/gen_<k>.json parsed (cJSON_Delete), NULL when absent. */
cJSON *golden_read_gen(const char *golden_dir, int k);
/* The official generation's arguments (gen_length, steps, block_length,
 * cfg_scale, temperature, eps, remasking, alg) as maskkv parameters. */
void golden_gen_params(const cJSON *doc, mkv_gen_params *p);

#endif
