/* HF config.json (mkv_hf_config_parse: architecture, sizes, special ids),
 * and the same bytes read as a tokenizer_config.json / generation_config.json
 * (special token strings and ids). */
#include <cjson/cJSON.h>

#include "formats/hf_config.h"
#include "fuzz_common.h"

static volatile unsigned char sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t before = mkv_alloc_current_bytes();
    mkv_hf_config cfg;
    mkv_status st = mkv_hf_config_parse((const char *)data, size, "config.json", &cfg);
    fuzz_check_error(st);
    if (st == MKV_OK) {
        FUZZ_ASSERT(cfg.arch != NULL, "no architecture");
        /* n_layers and n_heads may be 0 here: mkv_model_bind_weights refuses
         * them with the other loaders' checks (model.c check_hparams). */
        FUZZ_ASSERT(cfg.n_layers >= 0 && cfg.d_model > 0 && cfg.n_heads >= 0 && cfg.n_kv_heads >= 0 && cfg.head_dim >= 0 &&
                        cfg.d_ff > 0 && cfg.n_vocab >= cfg.vocab_size && cfg.vocab_size > 0 && cfg.n_ctx > 0,
                    "config with an invalid size accepted (layers %d d_model %d heads %d kv %d head_dim %d ff %d vocab %d/%d ctx %d)",
                    cfg.n_layers, cfg.d_model, cfg.n_heads, cfg.n_kv_heads, cfg.head_dim, cfg.d_ff, cfg.vocab_size,
                    cfg.n_vocab, cfg.n_ctx);
        FUZZ_ASSERT(cfg.norm_eps > 0 && cfg.rope_theta > 0, "non-positive epsilon or theta");
        mkv_hf_config_free(&cfg);
    }
    FUZZ_CHECK_NO_COUNTED_LEAK(before);

    cJSON *root = cJSON_ParseWithLength((const char *)data, size);
    if (root) {
        static const char *const fields[] = {"bos_token", "eos_token", "pad_token", "mask_token", "unk_token"};
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
            const char *s = mkv_hf_token_content(root, fields[i]);
            if (s) sink ^= (unsigned char)strlen(s);
        }
        static const char *const ids[] = {"bos_token_id", "eos_token_id", "pad_token_id", "mask_token_id"};
        for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) sink ^= (unsigned char)mkv_hf_json_id(root, ids[i]);
        cJSON_Delete(root);
    }

    /* A short input is also tried as a model id ("org/Name-8B-Instruct-v2"). */
    if (size <= 512) {
        char *id_text = fuzz_strndup(data, size);
        mkv_hf_model_id id;
        st = mkv_hf_model_id_parse(id_text, (int64_t)size * 1000003, &id);
        fuzz_check_error(st);
        if (st == MKV_OK) mkv_hf_model_id_free(&id);
        char *title = mkv_hf_id_to_title(id_text);
        mkv_free(title);
        free(id_text);
        FUZZ_CHECK_NO_COUNTED_LEAK(before);
    }
    return 0;
}
