/* Chat templates and conversations: the Jinja subset (src/tokenizer/jinja_*)
 * on an arbitrary template, rendered over the messages of an arbitrary
 * OpenAI-style JSON list (mkv_chat_parse_json) through
 * mkv_chat_render_template, with and without the generation prompt and
 * BOS/EOS texts, for either architecture's fallback. Contract: a failure is
 * a documented status with one line; a rendered prompt is NUL-ended; the
 * conversation is unchanged by a JSON list that fails; nothing leaks.
 * Input: control byte, template source, NUL, messages JSON. */
#include "fuzz_common.h"
#include "tokenizer/chat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    size_t before = mkv_alloc_current_bytes();
    uint8_t control = data[0];
    char *all = fuzz_strndup(data + 1, size - 1);
    size_t source_len = strlen(all);
    const char *json = source_len + 1 < size - 1 ? all + source_len + 1 : "";
    size_t json_len = source_len + 1 < size - 1 ? size - 1 - source_len - 1 : 0;

    mkv_chat_conversation *c = NULL;
    FUZZ_ASSERT(mkv_chat_conversation_create(&c) == MKV_OK, "create");
    if (control & 0x01) FUZZ_ASSERT(mkv_chat_add(c, "system", "Be brief.") == MKV_OK, "add");
    int had = mkv_chat_n_messages(c);
    mkv_status st = mkv_chat_parse_json(c, json, json_len, "messages.json");
    fuzz_check_error(st);
    if (st != MKV_OK) {
        FUZZ_ASSERT(mkv_chat_n_messages(c) == had, "a failed list changed the conversation");
        FUZZ_ASSERT(mkv_chat_add(c, "user", "Hi") == MKV_OK, "add");
    }
    if ((control & 0x02) && mkv_chat_n_messages(c) > 0)
        fuzz_check_error(mkv_chat_prepend_document(c, mkv_chat_n_messages(c) - 1, "A document."));
    mkv_chat_template tmpl = {all, (control & 0x04) ? MKV_ARCH_DREAM : MKV_ARCH_LLADA,
                              (control & 0x08) ? "<|startoftext|>" : NULL, (control & 0x10) ? "<|endoftext|>" : NULL};
    char *out = NULL, note[256];
    st = mkv_chat_render_template(&tmpl, mkv_chat_messages(c), mkv_chat_n_messages(c), (control & 0x20) != 0, &out,
                                  note, sizeof note);
    fuzz_check_error(st);
    FUZZ_ASSERT((st == MKV_OK) == (out != NULL), "status %d with output %p", (int)st, (void *)out);
    FUZZ_ASSERT(strlen(note) < sizeof note, "note");
    mkv_free(out);
    mkv_chat_truncate(c, 0);
    FUZZ_ASSERT(mkv_chat_n_messages(c) == 0, "truncate");
    mkv_chat_conversation_free(c);
    free(all);
    FUZZ_CHECK_NO_COUNTED_LEAK(before);
    return 0;
}
