/* Calibration profile: the offline layer importance I(l) of one model (SPEC §4
 * "averaged over a calibration set OFFLINE and stored in a profile file per
 * model"), which lets MaskKV's boundary-aware layer budgets be known before the
 * first forward pass, and so evict layer by layer.
 *
 * File (JSON):
 *   {"format": "maskkv-profile", "version": 1,
 *    "model": {"arch": "llada", "n_layers": 32, "d_model": 4096, "n_heads": 32,
 *              "n_kv_heads": 32, "n_vocab": 126464, "fingerprint": "9f0c...16 hex"},
 *    "layer_importance": [0.31, 0.05, ...],   (n_layers finite numbers)
 *    "samples": 64}
 *
 * The fingerprint identifies the checkpoint rather than the file: it hashes the
 * RMSNorm weights of the first, middle and last layers and the final norm,
 * converted to float and rounded to bfloat16. Norm weights stay unquantized
 * in llama.cpp's GGUF files and are exact in bf16/f16/f32, so the same
 * weights as an HF directory or as an F32/F16/Q8_0/Q4_0 GGUF share a
 * fingerprint (and a profile), while a different checkpoint of the same shape
 * does not. */
#ifndef MKV_PROFILE_H
#define MKV_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "maskkv.h"
#include "model/model.h"

#define MKV_PROFILE_FORMAT "maskkv-profile"
#define MKV_PROFILE_VERSION 1
/* I(l) = 1 - mean cos(h_in, h_out) lies in [0, 2]; a profile outside is refused. */
#define MKV_PROFILE_MAX_IMPORTANCE 2.0

typedef struct {
    char arch[32];
    int n_layers, d_model, n_heads, n_kv_heads, n_vocab;
    uint64_t fingerprint;
    double *layer_importance; /* [n_layers], mkv_malloc */
    int samples;              /* calibration prompts averaged */
} mkv_profile;

/* FNV-1a 64 of the model's norm weights (see above); 0 when the model has no
 * bound weights. */
uint64_t mkv_profile_fingerprint(const mkv_model *model);

/* An empty profile for `model` (identity filled, importance 0, samples 0). */
mkv_status mkv_profile_init(mkv_profile *profile, const mkv_model *model);
/* Folds one calibration sample's importance [n_layers] into the running mean. */
void mkv_profile_add_sample(mkv_profile *profile, const double *layer_importance);
void mkv_profile_free(mkv_profile *profile);

mkv_status mkv_profile_save(const mkv_profile *profile, const char *path);
/* Loads and checks a profile. With a model, refuses (MKV_ERR_INPUT) a profile
 * made for another model, naming the first field that differs; NULL skips
 * that check. Malformed files give MKV_ERR_FORMAT, another format version
 * MKV_ERR_UNSUPPORTED, a missing file MKV_ERR_IO. */
mkv_status mkv_profile_load(const char *path, const mkv_model *model, mkv_profile *profile);
/* The model check of mkv_profile_load alone, for a profile loaded without a
 * model (`generate` reads the profile before the weights, which the
 * fingerprint needs, are mapped). */
mkv_status mkv_profile_check_model(const char *path, const mkv_profile *profile, const mkv_model *model);
/* The same from the text of a profile (`name` in messages; fuzzing, tests). */
mkv_status mkv_profile_parse(const char *text, size_t len, const char *name, const mkv_model *model, mkv_profile *profile);

#endif
