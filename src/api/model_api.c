/* The public model accessors, version and names of maskkv.h that are not
 * the loaders' own (model/model.c): read-only views of a loaded model. */
#include <omp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "maskkv.h"
#include "model/forward.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"
#include "util/dtype.h"

const char *mkv_version(void) { return MKV_VERSION_STRING; }

const char *mkv_status_name(mkv_status status) {
    switch (status) {
    case MKV_OK: return "ok";
    case MKV_ERR_USAGE: return "usage";
    case MKV_ERR_IO: return "io";
    case MKV_ERR_FORMAT: return "format";
    case MKV_ERR_UNSUPPORTED: return "unsupported";
    case MKV_ERR_INPUT: return "input";
    case MKV_ERR_NOMEM: return "nomem";
    case MKV_ERR_CANCELLED: return "cancelled";
    }
    return "unknown";
}

mkv_model_params mkv_model_params_default(void) {
    mkv_model_params p;
    memset(&p, 0, sizeof p);
    return p;
}

void mkv_model_apply_threads(const mkv_model *model) {
    if (model->params.n_threads > 0) omp_set_num_threads(model->params.n_threads);
}

const mkv_model_params *mkv_model_params_of(const mkv_model *model) { return &model->params; }
const char *mkv_model_path(const mkv_model *model) { return model->path; }
const char *mkv_model_source(const mkv_model *model) { return model->source == MKV_SOURCE_GGUF ? "gguf" : "hf"; }
const char *mkv_model_arch_name(const mkv_model *model) { return model->arch ? model->arch->name : "?"; }
int mkv_model_n_tensors(const mkv_model *model) { return model->n_tensors; }

const mkv_tensor *mkv_model_tensor(const mkv_model *model, int index) {
    return index >= 0 && index < model->n_tensors ? &model->tensors[index] : NULL;
}

bool mkv_model_tied_embeddings(const mkv_model *model) { return model->output == model->tok_embd; }
const char *mkv_model_chat_template(const mkv_model *model) { return model->chat_template; }

const char *mkv_model_chat_format(const mkv_model *model) {
    if (!model->chat_template) return "none";
    switch (mkv_chat_detect(model->chat_template, model->hp.arch)) {
    case MKV_CHAT_LLADA: return "llada";
    case MKV_CHAT_DREAM: return "dream";
    default: return "other";
    }
}

const char *mkv_model_default_profile(const mkv_model *model, bool *exists) {
    if (exists) *exists = access(model->default_profile, R_OK) == 0;
    return model->default_profile;
}

const char *mkv_dtype_name(mkv_dtype type) {
    const mkv_dtype_traits *traits = mkv_dtype_info((int)type);
    return traits ? traits->name : "?";
}

bool mkv_dtype_can_write(mkv_dtype type) {
    const mkv_dtype_traits *traits = mkv_dtype_info((int)type);
    return traits && traits->from_float;
}

const char *mkv_forward_part_name(mkv_forward_part part) {
    return (int)part >= 0 && part < MKV_PART_COUNT ? mkv_forward_part_names[part] : NULL;
}
