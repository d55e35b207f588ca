/* mkv_model_load_header / mkv_model_load_weights: the two steps of loading
 * a .gguf (the memory check of `generate` runs between them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/model.h"
#include "test.h"

/* The header step alone: everything but the tensor data (NULL), the same
 * sizes as the whole load; a file cut inside its tensor data loads its header
 * and fails only when the weights are mapped. */
TEST(model_load_header_then_weights) {
    const char *path = mkv_test_path("models/llada-tiny-f32.gguf");
    mkv_model *whole = NULL, *m = NULL;
    REQUIRE(mkv_model_load(path, &whole) == MKV_OK);
    REQUIRE(mkv_model_load_header(path, NULL, &m) == MKV_OK);
    CHECK(!memcmp(&m->hp, &whole->hp, sizeof m->hp));
    CHECK_EQ_INT(m->n_tensors, whole->n_tensors);
    CHECK(mkv_model_n_bytes(m) == mkv_model_n_bytes(whole) && mkv_model_n_bytes(m) > 0);
    CHECK(m->tokenizer != NULL && m->n_mappings == 0 && m->layers && m->layers[0].wq);
    for (int i = 0; i < m->n_tensors; i++) CHECK(m->tensors[i].data == NULL);
    /* nothing that reads weights runs before they are mapped: a usage error naming the call */
    {
        int32_t ids[3] = {1, 2, 3};
        float logits[1];
        mkv_gen_params p;
        mkv_gen_params_defaults(&p);
        mkv_gen_result *r = NULL;
        mkv_calibration *c = NULL;
        CHECK_EQ_INT(mkv_model_logits(m, ids, 3, ids, 0, logits), MKV_ERR_USAGE);
        CHECK(strstr(mkv_last_error(), "mkv_model_load_weights") != NULL);
        CHECK_EQ_INT(mkv_generate(m, ids, 3, &p, &r), MKV_ERR_USAGE);
        CHECK(r == NULL);
        CHECK_EQ_INT(mkv_calibration_create(m, &c), MKV_ERR_USAGE);
        CHECK(c == NULL);
        CHECK_EQ_INT(mkv_gen_check(m, &p, 3), MKV_OK); /* sizing works on the header alone */
    }
    REQUIRE(mkv_model_load_weights(m) == MKV_OK);
    REQUIRE(mkv_model_load_weights(m) == MKV_OK); /* a no-op the second time */
    for (int i = 0; i < m->n_tensors; i++)
        CHECK(m->tensors[i].data && !memcmp(m->tensors[i].data, whole->tensors[i].data, m->tensors[i].n_bytes));
    mkv_model_free(m);

    /* cut at 60%: the header loads, the weights are refused with the file's error */
    FILE *f = fopen(path, "rb");
    REQUIRE(f != NULL);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *bytes = malloc((size_t)size);
    REQUIRE(bytes && fread(bytes, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
    char cut[] = "/tmp/mkv_test_cut_XXXXXX";
    int fd = mkstemp(cut);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, bytes, (size_t)(size * 6 / 10)) == (ssize_t)(size * 6 / 10));
    close(fd);
    free(bytes);
    REQUIRE(mkv_model_load_header(cut, NULL, &m) == MKV_OK);
    CHECK(mkv_model_n_bytes(m) == mkv_model_n_bytes(whole));
    CHECK_EQ_INT(mkv_model_load_weights(m), MKV_ERR_FORMAT);
    CHECK(strstr(mkv_last_error(), "lies outside the file"));
    mkv_model_free(m);
    CHECK_EQ_INT(mkv_model_load(cut, &m), MKV_ERR_FORMAT); /* the whole file at once */
    CHECK(m == NULL);
    unlink(cut);
    mkv_model_free(whole);
}
