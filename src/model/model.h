/* The in-memory model description shared by both sources (GGUF, HF dir):
 * hyper-parameters, special ids, chat template, tokenizer, and weight views
 * that point into the memory-mapped files (no copy at load). */
#ifndef MKV_MODEL_H
#define MKV_MODEL_H

#include "maskkv.h"
#include "model/arch.h"
#include "util/mapped_file.h"

typedef enum { MKV_SOURCE_GGUF = 0, MKV_SOURCE_HF_DIR = 1 } mkv_source_kind;

typedef struct {
    const mkv_tensor *attn_norm;        /* [d_model]                       */
    const mkv_tensor *wq, *wk, *wv;     /* [d_model -> n_heads*hd], [.. -> n_kv_heads*hd] */
    const mkv_tensor *bq, *bk, *bv;     /* biases or NULL (Dream has them) */
    const mkv_tensor *wo;               /* [n_heads*hd -> d_model]         */
    const mkv_tensor *ffn_norm;         /* [d_model]                       */
    const mkv_tensor *ffn_gate, *ffn_up;/* [d_model -> d_ff]               */
    const mkv_tensor *ffn_down;         /* [d_ff -> d_model]               */
} mkv_layer_weights;

struct mkv_model {
    mkv_hparams hp;
    const mkv_arch_desc *arch;
    mkv_source_kind source;
    char path[1024];

    mkv_tensor *tensors;                /* every tensor of the file(s), GGUF names */
    int n_tensors;
    int *tensor_by_name;                /* indices into tensors, sorted by name (lookup) */
    const mkv_tensor *tok_embd;         /* [d_model, n_vocab] (ne order)   */
    const mkv_tensor *output_norm;      /* [d_model]                       */
    const mkv_tensor *output;           /* LM head [d_model -> n_vocab]    */
    mkv_layer_weights *layers;          /* n_layers                        */

    char *chat_template;                /* Jinja source from the file, or NULL */
    mkv_tokenizer *tokenizer;           /* NULL when the source carries none */

    mkv_mapped_file *mappings;          /* files kept mapped while the model lives */
    int n_mappings;
    void **owned_buffers;               /* e.g. converted/permuted copies  */
    int n_owned_buffers;

    mkv_model_params params;            /* as loaded (mkv_model_load_with)  */
    char default_profile[1040];         /* MODEL.profile.json                */
    bool weights_loaded;                /* false after mkv_model_load_header of a .gguf */
};

/* MKV_OK when the weights are mapped; else MKV_ERR_USAGE naming
 * mkv_model_load_weights (a model from mkv_model_load_header). */
mkv_status mkv_model_require_weights(const mkv_model *model);

/* Sorts the tensor names for lookup (once the list is complete); two
 * tensors of one name are an error (MKV_ERR_FORMAT). */
mkv_status mkv_model_index_tensors(mkv_model *model);
/* Validates every weight's shape against the hyper-parameters and fills
 * tok_embd/output/layers; called by both loaders. */
mkv_status mkv_model_bind_weights(mkv_model *model);

/* The public accessors (mkv_model_find_tensor, mkv_model_n_params,
 * mkv_model_n_bytes, mkv_model_resident_bytes, mkv_model_check_weights, ...)
 * are declared in maskkv.h. */

/* Applies the model's n_threads to the calling thread's OpenMP team size
 * (an OpenMP setting of each thread); every public entry that computes
 * calls it first. */
void mkv_model_apply_threads(const mkv_model *model);

#endif
