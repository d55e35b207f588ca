/* mkv_chat_apply[_ex] (maskkv.h): a conversation rendered by the model's
 * Jinja chat template (src/tokenizer/jinja.h) with its BOS/EOS texts, the
 * built-in LLaDA/Dream renderers as the fallback (src/tokenizer/chat.c). */
#include <string.h>

#include "maskkv.h"
#include "model/model.h"
#include "tokenizer/chat.h"

static const char *special_text(const mkv_model *model, int32_t id) {
    return model->tokenizer && id >= 0 ? mkv_tokenizer_token_text(model->tokenizer, id) : NULL;
}

mkv_status mkv_chat_apply_ex(const mkv_model *model, const char *template_source, const mkv_chat_message *messages,
                             int n_messages, bool add_generation_prompt, char **out_text, char *note,
                             size_t note_size) {
    *out_text = NULL;
    if (note && note_size) note[0] = '\0';
    if (n_messages < 1 || !messages) return mkv_fail(MKV_ERR_INPUT, "chat: no messages");
    mkv_chat_template tmpl = {template_source ? template_source : model->chat_template, model->hp.arch,
                              special_text(model, model->hp.bos_id), special_text(model, model->hp.eos_id)};
    return mkv_chat_render_template(&tmpl, messages, n_messages, add_generation_prompt, out_text, note, note_size);
}

mkv_status mkv_chat_apply(const mkv_model *model, const mkv_chat_message *messages, int n_messages,
                          bool add_generation_prompt, char **out_text) {
    return mkv_chat_apply_ex(model, NULL, messages, n_messages, add_generation_prompt, out_text, NULL, 0);
}
