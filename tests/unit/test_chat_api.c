/* The public chat API (maskkv.h): mkv_chat_apply renders multi-turn
 * conversations through the model's Jinja template exactly as the built-in
 * renderer of its family does (two independent implementations of the
 * official templates; equality with transformers is
 * tests/python/check_chat_template.py), the fallback with a note, the
 * errors, conversations (ownership, failed appends change nothing,
 * documents), and rendering from several threads at once. */
#include <pthread.h>
#include <string.h>

#include "maskkv.h"
#include "test.h"

static const mkv_chat_message turns[] = {
    {"system", " Be brief. "}, {"user", "Hello\n"}, {"assistant", "Hi! How can I help?"}, {"user", "\tWhat is 2+2?"},
};

/* The model's template (Jinja) and the built-in renderer ("" = no template) agree. */
static void check_jinja_equals_builtin(const char *model_dir) {
    mkv_model *m = NULL;
    REQUIRE(mkv_model_load(mkv_test_path(model_dir), &m) == MKV_OK);
    REQUIRE(mkv_model_chat_template(m) != NULL);
    for (int first = 0; first < 2; first++)           /* with and without the system message */
        for (int n = 1; n + first <= 4; n++) {
            char *jinja = NULL, *builtin = NULL;
            REQUIRE(mkv_chat_apply(m, turns + first, n, true, &jinja) == MKV_OK);
            REQUIRE(mkv_chat_apply_ex(m, "", turns + first, n, true, &builtin, NULL, 0) == MKV_OK);
            CHECK_MSG(strcmp(jinja, builtin) == 0, "%s, messages %d..%d:\n%s\nvs\n%s", model_dir, first, first + n,
                      jinja, builtin);
            CHECK(strstr(jinja, "What is 2+2?") != NULL || n + first < 4);
            mkv_free(jinja);
            mkv_free(builtin);
        }
    mkv_model_free(m);
}

TEST(chat_apply_multi_turn_llada) { check_jinja_equals_builtin("models/llada-tiny"); }
TEST(chat_apply_multi_turn_dream) { check_jinja_equals_builtin("models/dream-tiny"); }

TEST(chat_apply_fallback_and_errors) {
    mkv_model *m = NULL;
    REQUIRE(mkv_model_load(mkv_test_path("models/llada-tiny"), &m) == MKV_OK);
    char *out = NULL, *builtin = NULL, note[300];
    /* a LLaDA-family template with a construct outside the subset: the built-in renderer, and a note */
    const char *macro = "{% macro x() %}{% endmacro %}<|start_header_id|>{{ messages[0].content }}";
    REQUIRE(mkv_chat_apply_ex(m, macro, turns, 2, true, &out, note, sizeof note) == MKV_OK);
    REQUIRE(mkv_chat_apply_ex(m, "", turns, 2, true, &builtin, NULL, 0) == MKV_OK);
    CHECK(strcmp(out, builtin) == 0);
    CHECK(strstr(note, "macro") != NULL && strstr(note, "built-in LLaDA") != NULL);
    mkv_free(out);
    mkv_free(builtin);
    /* a construct outside the subset in a template of no known family: an error naming it */
    CHECK_EQ_INT(mkv_chat_apply_ex(m, "{% macro x() %}{% endmacro %}{{ messages[0].content }}", turns, 2, true, &out,
                                   note, sizeof note),
                 MKV_ERR_UNSUPPORTED);
    CHECK(out == NULL && note[0] == '\0' && strstr(mkv_last_error(), "macro") != NULL);
    /* a template of one's own, rendered as written */
    REQUIRE(mkv_chat_apply_ex(m, "{% for m in messages %}{{ m.role }}:{{ m.content | trim }};{% endfor %}"
                                 "{% if add_generation_prompt %}A:{% endif %}",
                              turns + 1, 3, true, &out, note, sizeof note) == MKV_OK);
    CHECK(strcmp(out, "user:Hello;assistant:Hi! How can I help?;user:What is 2+2?;A:") == 0 && note[0] == '\0');
    mkv_free(out);
    CHECK_EQ_INT(mkv_chat_apply(m, turns, 0, true, &out), MKV_ERR_INPUT);
    CHECK(out == NULL);
    CHECK_EQ_INT(mkv_chat_apply(m, NULL, 2, true, &out), MKV_ERR_INPUT);
    mkv_chat_message no_role = {NULL, "x"};
    CHECK_EQ_INT(mkv_chat_apply(m, &no_role, 1, true, &out), MKV_ERR_INPUT);
    CHECK_EQ_INT(mkv_chat_apply_ex(m, "{% if %}", turns, 1, true, &out, NULL, 0), MKV_ERR_FORMAT);
    CHECK_EQ_INT(mkv_chat_apply_ex(m, "{{ raise_exception('no') }}", turns, 1, true, &out, NULL, 0), MKV_ERR_INPUT);
    CHECK(strstr(mkv_last_error(), "no") != NULL && out == NULL);
    mkv_model_free(m);
}

TEST(chat_conversation_ownership_and_errors) {
    mkv_chat_conversation *c = NULL;
    REQUIRE(mkv_chat_conversation_create(&c) == MKV_OK);
    char role[] = "user", content[] = "What is the code?";
    REQUIRE(mkv_chat_add(c, role, content) == MKV_OK);
    content[0] = 'X'; /* copied */
    CHECK(strcmp(mkv_chat_messages(c)[0].content, "What is the code?") == 0);
    CHECK_EQ_INT(mkv_chat_add(c, "user", "bad \xff"), MKV_ERR_INPUT);
    CHECK_EQ_INT(mkv_chat_add(c, NULL, "x"), MKV_ERR_INPUT);
    CHECK_EQ_INT(mkv_chat_n_messages(c), 1);
    const char good[] = "[{\"role\": \"assistant\", \"content\": \"545\"}, {\"role\": \"user\", \"content\": \"again\"}]";
    REQUIRE(mkv_chat_parse_json(c, good, strlen(good), "m.json") == MKV_OK);
    CHECK_EQ_INT(mkv_chat_n_messages(c), 3);
    CHECK(strcmp(mkv_chat_messages(c)[1].role, "assistant") == 0 && strcmp(mkv_chat_messages(c)[2].content, "again") == 0);
    /* a list that fails part-way leaves the conversation as it was */
    const char half[] = "[{\"role\": \"user\", \"content\": \"ok\"}, {\"role\": \"robot\", \"content\": \"x\"}]";
    CHECK_EQ_INT(mkv_chat_parse_json(c, half, strlen(half), "m.json"), MKV_ERR_INPUT);
    CHECK(strstr(mkv_last_error(), "m.json: message 2") != NULL);
    CHECK_EQ_INT(mkv_chat_parse_json(c, "[{", 2, "m.json"), MKV_ERR_FORMAT);
    CHECK_EQ_INT(mkv_chat_parse_json(c, "[]", 2, "m.json"), MKV_ERR_INPUT);
    CHECK_EQ_INT(mkv_chat_parse_json(c, "{\"role\": \"user\"}", 16, "m.json"), MKV_ERR_INPUT);
    CHECK_EQ_INT(mkv_chat_n_messages(c), 3);
    CHECK_EQ_INT(mkv_chat_load_json(c, mkv_test_path("no-such-messages.json")), MKV_ERR_IO);
    /* a document before a message */
    REQUIRE(mkv_chat_prepend_document(c, 2, "DOC") == MKV_OK);
    CHECK(strcmp(mkv_chat_messages(c)[2].content, "DOC\n\nagain") == 0);
    CHECK_EQ_INT(mkv_chat_prepend_document(c, 3, "DOC"), MKV_ERR_INPUT);
    CHECK_EQ_INT(mkv_chat_prepend_document(c, 0, "\xc3"), MKV_ERR_INPUT);
    mkv_chat_truncate(c, 1);
    CHECK_EQ_INT(mkv_chat_n_messages(c), 1);
    mkv_chat_truncate(c, 5);
    CHECK_EQ_INT(mkv_chat_n_messages(c), 1);
    mkv_chat_conversation_free(c);
    mkv_chat_conversation_free(NULL);
}

/* One model, several threads rendering at once (upper/lower: the shared
 * case-mapping locale is made once): every thread gets the same text. */
typedef struct {
    const mkv_model *model;
    char *out;
    mkv_status st;
} render_job;

static void *render_many(void *arg) {
    render_job *job = arg;
    static const mkv_chat_message msgs[] = {{"user", "h\xc3\xa9llo \xce\xa3"}, {"assistant", "ok"}};
    const char *tmpl = "{% for m in messages %}{{ m.content | upper }}{{ m.content.lower() }}{% endfor %}";
    for (int i = 0; i < 50 && job->st == MKV_OK; i++) {
        mkv_free(job->out);
        job->out = NULL;
        job->st = mkv_chat_apply_ex(job->model, tmpl, msgs, 2, true, &job->out, NULL, 0);
    }
    return NULL;
}

TEST(chat_apply_from_several_threads) {
    mkv_model *m = NULL;
    REQUIRE(mkv_model_load(mkv_test_path("models/dream-tiny"), &m) == MKV_OK);
    render_job jobs[4];
    pthread_t threads[4];
    for (int t = 0; t < 4; t++) {
        jobs[t] = (render_job){m, NULL, MKV_OK};
        REQUIRE(pthread_create(&threads[t], NULL, render_many, &jobs[t]) == 0);
    }
    for (int t = 0; t < 4; t++) pthread_join(threads[t], NULL);
    for (int t = 0; t < 4; t++) {
        CHECK_EQ_INT(jobs[t].st, MKV_OK);
        CHECK(jobs[t].out && strcmp(jobs[t].out, "H\xc3\x89LLO \xce\xa3h\xc3\xa9llo \xcf\x83OKok") == 0);
        mkv_free(jobs[t].out);
    }
    mkv_model_free(m);
}
