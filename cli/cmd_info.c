/* `maskkv info -m PATH [--json]`: what a model is, from a .gguf file or an HF
 * checkpoint directory (the two give the same hyper-parameters). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: maskkv info -m PATH [--json] [--check-weights]\n"
            "Prints the architecture, shapes, tensor types, tokenizer and chat template of a model.\n"
            "  -m, --model PATH   .gguf file or HF checkpoint directory (required)\n"
            "  --json             print one JSON object (off: text)\n"
            "  --check-weights    also scan every weight for NaN/Inf (off: headers only)\n"
            "example: maskkv info -m models/llada-tiny-retrieval.gguf\n");
}

/* The shortest decimal that reads back as the same float (1e-05, not 9.99999975e-06). */
static double pretty_float(float f) {
    char buf[32];
    for (int precision = 1; precision <= 9; precision++) {
        snprintf(buf, sizeof buf, "%.*g", precision, (double)f);
        if (strtof(buf, NULL) == f) break;
    }
    return strtod(buf, NULL);
}

typedef struct {
    int count[64];
} dtype_counts;

static void count_dtypes(const mkv_model *model, dtype_counts *c) {
    memset(c, 0, sizeof *c);
    for (int i = 0; i < mkv_model_n_tensors(model); i++) {
        int t = (int)mkv_model_tensor(model, i)->dtype;
        if (t >= 0 && t < 64) c->count[t]++;
    }
}

static int tokenizer_tokens(const mkv_model *model) {
    const mkv_tokenizer *tok = mkv_model_tokenizer(model);
    return tok ? mkv_tokenizer_n_vocab(tok) : -1;
}

static mkv_status print_json(const mkv_model *model) {
    const mkv_hparams *hp = mkv_model_hparams(model);
    cJSON *o = cJSON_CreateObject();
    if (!o) return mkv_fail(MKV_ERR_NOMEM, "info: out of memory");
    cJSON_AddStringToObject(o, "path", mkv_model_path(model));
    cJSON_AddStringToObject(o, "source", mkv_model_source(model));
    cJSON_AddStringToObject(o, "arch", mkv_model_arch_name(model));
    cJSON_AddNumberToObject(o, "n_layers", hp->n_layers);
    cJSON_AddNumberToObject(o, "d_model", hp->d_model);
    cJSON_AddNumberToObject(o, "n_heads", hp->n_heads);
    cJSON_AddNumberToObject(o, "n_kv_heads", hp->n_kv_heads);
    cJSON_AddNumberToObject(o, "head_dim", hp->head_dim);
    cJSON_AddNumberToObject(o, "d_ff", hp->d_ff);
    cJSON_AddNumberToObject(o, "n_vocab", hp->n_vocab);
    cJSON_AddNumberToObject(o, "n_ctx", hp->n_ctx);
    cJSON_AddNumberToObject(o, "rope_theta", pretty_float(hp->rope_theta));
    cJSON_AddStringToObject(o, "rope_style", hp->rope_style == MKV_ROPE_NORM ? "norm" : "neox");
    cJSON_AddNumberToObject(o, "norm_eps", pretty_float(hp->norm_eps));
    cJSON_AddBoolToObject(o, "has_qkv_bias", hp->has_qkv_bias);
    cJSON_AddBoolToObject(o, "shift_logits", hp->shift_logits);
    cJSON_AddNumberToObject(o, "mask_id", hp->mask_id);
    cJSON_AddNumberToObject(o, "bos_id", hp->bos_id);
    cJSON_AddNumberToObject(o, "eos_id", hp->eos_id);
    cJSON_AddNumberToObject(o, "eot_id", hp->eot_id);
    cJSON_AddNumberToObject(o, "pad_id", hp->pad_id);
    cJSON_AddBoolToObject(o, "tied_embeddings", mkv_model_tied_embeddings(model));
    cJSON_AddNumberToObject(o, "n_tensors", mkv_model_n_tensors(model));
    cJSON *dtypes = cJSON_AddObjectToObject(o, "dtypes");
    dtype_counts c;
    count_dtypes(model, &c);
    for (int t = 0; t < 64; t++)
        if (c.count[t]) cJSON_AddNumberToObject(dtypes, mkv_dtype_name((mkv_dtype)t), c.count[t]);
    cJSON_AddNumberToObject(o, "n_params", (double)mkv_model_n_params(model));
    cJSON_AddNumberToObject(o, "n_bytes", (double)mkv_model_n_bytes(model));
    int n_tok = tokenizer_tokens(model);
    if (n_tok >= 0) cJSON_AddNumberToObject(o, "tokenizer_tokens", n_tok);
    else cJSON_AddNullToObject(o, "tokenizer_tokens");
    cJSON_AddStringToObject(o, "chat_template", mkv_model_chat_format(model));
    cJSON_AddStringToObject(o, "compute", mkv_compute_name(mkv_compute_for_model(model, MKV_COMPUTE_AUTO)));
    cJSON_AddBoolToObject(o, "cpu_bf16_dot_products", mkv_cpu_has_bf16_dot());
    cJSON_AddBoolToObject(o, "cpu_bf16_dot_products_fast", mkv_cpu_bf16_dot_is_fast());
    cJSON_AddBoolToObject(o, "cpu_amx", mkv_cpu_has_amx());
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text) return mkv_fail(MKV_ERR_NOMEM, "info: out of memory");
    printf("%s\n", text);
    cJSON_free(text);
    return MKV_OK;
}

static void print_text(const mkv_model *model) {
    const mkv_hparams *hp = mkv_model_hparams(model);
    printf("model:          %s\n", mkv_model_path(model));
    printf("source:         %s\n", mkv_model_source(model));
    printf("architecture:   %s\n", mkv_model_arch_name(model));
    printf("layers:         %d\n", hp->n_layers);
    printf("d_model:        %d\n", hp->d_model);
    printf("heads:          %d\n", hp->n_heads);
    printf("kv_heads:       %d\n", hp->n_kv_heads);
    printf("head_dim:       %d\n", hp->head_dim);
    printf("ffn:            %d\n", hp->d_ff);
    printf("vocab:          %d\n", hp->n_vocab);
    printf("context:        %d\n", hp->n_ctx);
    printf("rope_theta:     %.9g\n", pretty_float(hp->rope_theta));
    printf("rope_style:     %s\n", hp->rope_style == MKV_ROPE_NORM ? "norm" : "neox");
    printf("norm_eps:       %.9g\n", pretty_float(hp->norm_eps));
    printf("qkv_bias:       %s\n", hp->has_qkv_bias ? "yes" : "no");
    printf("shift_logits:   %s\n", hp->shift_logits ? "yes" : "no");
    printf("special ids:    mask=%d bos=%d eos=%d eot=%d pad=%d\n", hp->mask_id, hp->bos_id, hp->eos_id, hp->eot_id,
           hp->pad_id);
    printf("tied embedding: %s\n", mkv_model_tied_embeddings(model) ? "yes" : "no");
    printf("tensors:        %d\n", mkv_model_n_tensors(model));
    printf("compute:        %s (default here; CPU bf16 dot products: %s)\n",
           mkv_compute_name(mkv_compute_for_model(model, MKV_COMPUTE_AUTO)),
           mkv_cpu_has_amx()            ? "AMX tiles, faster than f32"
           : mkv_cpu_bf16_dot_is_fast() ? "yes, faster than f32"
           : mkv_cpu_has_bf16_dot()     ? "yes, slower than f32"
                                        : "no");
    dtype_counts c;
    count_dtypes(model, &c);
    printf("dtypes:        ");
    for (int t = 0; t < 64; t++)
        if (c.count[t]) printf(" %s:%d", mkv_dtype_name((mkv_dtype)t), c.count[t]);
    printf("\n");
    int64_t n_params = mkv_model_n_params(model);
    printf("parameters:     %lld (%.2fM)\n", (long long)n_params, (double)n_params / 1e6);
    size_t n_bytes = mkv_model_n_bytes(model);
    printf("bytes:          %zu (%.2f MiB)\n", n_bytes, (double)n_bytes / (1024.0 * 1024.0));
    int n_tok = tokenizer_tokens(model);
    if (n_tok >= 0) printf("tokenizer:      %d tokens\n", n_tok);
    else printf("tokenizer:      %s\n", mkv_model_tokenizer(model) ? "yes" : "none");
    printf("chat_template:  %s\n", mkv_model_chat_format(model));
}

mkv_status cmd_info(int argc, char **argv) {
    const char *path = NULL;
    bool json = false, check_weights = false;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return MKV_OK;
        } else if (!strcmp(argv[i], "-m") || !strcmp(argv[i], "--model")) {
            if (!(path = mkv_arg_value(argc, argv, &i))) return MKV_ERR_USAGE;
        } else if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (!strcmp(argv[i], "--check-weights")) {
            check_weights = true;
        } else {
            return mkv_fail(MKV_ERR_USAGE, "unknown option '%s' (try `maskkv info --help`)", argv[i]);
        }
    }
    if (!path) return mkv_fail(MKV_ERR_USAGE, "-m PATH is required (a .gguf file or an HF checkpoint directory)");
    mkv_model *model = NULL;
    mkv_status st = mkv_model_load(path, &model);
    if (st) return st;
    if (check_weights) st = mkv_model_check_weights(model);
    if (!st) {
        if (json) st = print_json(model);
        else print_text(model);
    }
    mkv_model_free(model);
    return st;
}
