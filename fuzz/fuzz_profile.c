/* Calibration profile files (mkv_profile_parse: format, version, model
 * identity, layer_importance), then the identity check against the tiny LLaDA
 * model (fingerprint of its norm weights). */
#include <math.h>

#include "cache/profile.h"
#include "fuzz_common.h"

static mkv_model *model;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    if (mkv_model_load(fuzz_source_path("tests/models/llada-tiny-f32.gguf"), &model) != MKV_OK) {
        fprintf(stderr, "fuzz_profile: %s (set MKV_SOURCE_ROOT)\n", mkv_last_error());
        exit(1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t before = mkv_alloc_current_bytes();
    mkv_profile p;
    mkv_status st = mkv_profile_parse((const char *)data, size, "fuzz.profile.json", NULL, &p);
    fuzz_check_error(st);
    if (st != MKV_OK) {
        FUZZ_ASSERT(p.layer_importance == NULL, "importance kept after an error");
        FUZZ_CHECK_NO_COUNTED_LEAK(before);
        return 0;
    }
    FUZZ_ASSERT(p.n_layers >= 1 && p.layer_importance && p.samples >= 1, "profile fields");
    for (int l = 0; l < p.n_layers; l++)
        FUZZ_ASSERT(p.layer_importance[l] >= 0 && p.layer_importance[l] <= MKV_PROFILE_MAX_IMPORTANCE, "importance outside [0, 2] accepted");
    mkv_profile_free(&p);
    st = mkv_profile_parse((const char *)data, size, "fuzz.profile.json", model, &p);
    fuzz_check_error(st);
    FUZZ_ASSERT(st == MKV_OK || st == MKV_ERR_INPUT, "identity check status %d", (int)st);
    mkv_profile_free(&p);
    FUZZ_CHECK_NO_COUNTED_LEAK(before);
    return 0;
}
