/* The smallest complete program on libmaskkv: load a model, render a chat
 * prompt and tokenize it, generate with MaskKV eviction while a callback
 * prints the progress, then print the answer and the statistics, and free
 * everything.
 *
 *   cc simple.c $(pkg-config --cflags --libs maskkv) -o simple
 *   ./simple models/llada-tiny-retrieval.gguf "$(cat models/example-niah.txt)"
 */
#include <stdio.h>
#include <string.h>

#include "maskkv.h"

static int on_step(const mkv_step_info *step, void *user) {
    (void)user;
    char *text = NULL;
    if (mkv_step_text(step, false, "_", &text, NULL) == MKV_OK)
        fprintf(stderr, "step %d/%d: %d of %d tokens unmasked: %s\n", step->step, step->n_steps, step->n_unmasked,
                step->gen_len, text);
    mkv_free(text);
    return 0; /* nonzero would cancel the generation (MKV_ERR_CANCELLED) */
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL QUESTION\n", argv[0]);
        return 2;
    }
    mkv_model_params mp = mkv_model_params_default();
    mp.n_threads = 1;
    mkv_model *model = NULL;
    char *prompt = NULL;
    int32_t *ids = NULL;
    int n_ids = 0;
    mkv_gen_result *result = NULL;
    mkv_status st = mkv_model_load_with(argv[1], &mp, &model);
    if (st == MKV_OK) {
        mkv_chat_message turn = {"user", argv[2]};
        st = mkv_chat_apply(model, &turn, 1, true, &prompt);
    }
    if (st == MKV_OK) st = mkv_tokenize(mkv_model_tokenizer(model), prompt, strlen(prompt), true, &ids, &n_ids);
    if (st == MKV_OK) {
        mkv_gen_params params;
        mkv_gen_params_defaults(&params);
        params.gen_len = 16;
        params.steps = 16;
        params.block_len = 16;
        st = mkv_gen_params_set_cache(&params, "maskkv");
        params.cache.evict.budget = 16;
        params.on_step = on_step;
        if (st == MKV_OK) st = mkv_generate(model, ids, n_ids, &params, &result);
    }
    if (st == MKV_OK) {
        const mkv_gen_stats *s = mkv_gen_result_stats(result);
        printf("prompt: %d tokens\nanswer: %s\n", n_ids, mkv_gen_result_text(result, NULL));
        printf("stats: %d steps in %.3f s (prefill %.3f s), KV %zu bytes at the peak, %lld prompt pairs kept, "
               "cache %s, peak RSS %zu bytes\n",
               s->steps, s->seconds, s->prefill_seconds, s->kv_bytes, (long long)s->kv_prompt_kept, s->cache,
               s->peak_rss_bytes);
        printf("kept per layer:");
        for (int l = 0; l < s->n_layers; l++) printf(" %lld", (long long)s->kv_kept_per_layer[l]);
        printf("\n");
    } else {
        fprintf(stderr, "simple: error: %s\n", mkv_last_error());
    }
    mkv_gen_result_free(result);
    mkv_free(ids);
    mkv_free(prompt);
    mkv_model_free(model);
    return (int)st;
}
