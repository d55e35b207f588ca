/* safetensors reader: hand-built images for every error path (status and
 * message), truncation at every byte, byte flips, and checkpoint directories
 * (single file, shards with and without index.json, broken indexes). */
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/safetensors.h"
#include "test.h"
#include "util/alloc.h"
#include "util/fp16.h"

/* An image: u64 header length, `header` JSON padded with spaces to a
 * multiple of 8 bytes (as writers do), then `data_bytes` of data (bytes 0,
 * 1, 2, ...). */
static unsigned char *st_image(const char *header, size_t data_bytes, size_t *size) {
    size_t text_len = strlen(header), hlen = (text_len + 7) / 8 * 8;
    *size = 8 + hlen + data_bytes;
    unsigned char *p = malloc(*size);
    uint64_t len = hlen;
    memcpy(p, &len, 8);
    memset(p + 8, ' ', hlen);
    memcpy(p + 8, header, text_len);
    for (size_t i = 0; i < data_bytes; i++) p[8 + hlen + i] = (unsigned char)i;
    return p;
}

#define EXPECT_ST(header, data_bytes, want_status, text)                                             \
    do {                                                                                             \
        size_t size_;                                                                                \
        unsigned char *img_ = st_image(header, data_bytes, &size_);                                  \
        mkv_safetensors *st_ = NULL;                                                                 \
        mkv_status s_ = mkv_safetensors_open_memory(img_, size_, "w.safetensors", &st_);             \
        CHECK_EQ_INT(s_, want_status);                                                               \
        if (s_ != MKV_OK) {                                                                          \
            CHECK_MSG(strstr(mkv_last_error(), "w.safetensors") != NULL, "no file name: %s", mkv_last_error()); \
            CHECK_MSG(strstr(mkv_last_error(), text) != NULL, "'%s' not in: %s", text, mkv_last_error());      \
            CHECK(st_ == NULL);                                                                      \
        }                                                                                            \
        mkv_safetensors_close(st_);                                                                  \
        free(img_);                                                                                  \
    } while (0)

static const char *valid_header =
    "{\"__metadata__\":{\"format\":\"pt\"},"
    "\"w.f32\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
    "\"b.bf16\":{\"dtype\":\"BF16\",\"shape\":[1,2,2],\"data_offsets\":[32,40]},"
    "\"v.f16\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[24,32]}}   ";

TEST(safetensors_reads_tensors) {
    size_t size;
    unsigned char *img = st_image(valid_header, 40, &size);
    mkv_safetensors *st = NULL;
    REQUIRE(mkv_safetensors_open_memory(img, size, "ok.safetensors", &st) == MKV_OK);
    CHECK_EQ_INT(mkv_safetensors_n_tensors(st), 3);
    CHECK(strcmp(mkv_safetensors_name(st), "ok.safetensors") == 0);
    const mkv_tensor *w = mkv_safetensors_find(st, "w.f32");
    REQUIRE(w != NULL);
    /* PyTorch [2][3] -> ggml ne = {3, 2} */
    CHECK(w->dtype == MKV_TYPE_F32 && w->n_dims == 2 && w->ne[0] == 3 && w->ne[1] == 2 && w->ne[2] == 1 && w->n_bytes == 24);
    size_t data_start = size - 40;
    CHECK((const unsigned char *)w->data == img + data_start);
    const mkv_tensor *b = mkv_safetensors_find(st, "b.bf16");
    REQUIRE(b != NULL);
    CHECK(b->dtype == MKV_TYPE_BF16 && b->n_dims == 3 && b->ne[0] == 2 && b->ne[1] == 2 && b->ne[2] == 1);
    CHECK((const unsigned char *)b->data == img + data_start + 32);
    const mkv_tensor *v = mkv_safetensors_find(st, "v.f16");
    REQUIRE(v != NULL);
    CHECK(v->dtype == MKV_TYPE_F16 && v->n_dims == 1 && v->ne[0] == 4);
    /* tensors come in data order */
    CHECK(mkv_safetensors_tensor(st, 0) == w && mkv_safetensors_tensor(st, 1) == v && mkv_safetensors_tensor(st, 2) == b);
    CHECK(mkv_safetensors_tensor(st, 3) == NULL);
    CHECK(mkv_safetensors_find(st, "__metadata__") == NULL);
    CHECK(mkv_safetensors_find(st, "nope") == NULL);
    mkv_safetensors_close(st);
    free(img);
}

TEST(safetensors_rejects_bad_headers) {
    mkv_safetensors *st = NULL;
    unsigned char tiny[5] = {1, 2, 3, 4, 5};
    CHECK_EQ_INT(mkv_safetensors_open_memory(tiny, 5, "w.safetensors", &st), MKV_ERR_FORMAT);
    CHECK(strstr(mkv_last_error(), "too short") != NULL);
    unsigned char long_len[16] = {0};
    uint64_t len = 9;
    memcpy(long_len, &len, 8);
    CHECK_EQ_INT(mkv_safetensors_open_memory(long_len, 16, "w.safetensors", &st), MKV_ERR_FORMAT);
    CHECK(strstr(mkv_last_error(), "past the end of the file") != NULL);
    len = 200000000;
    memcpy(long_len, &len, 8);
    CHECK_EQ_INT(mkv_safetensors_open_memory(long_len, 16, "w.safetensors", &st), MKV_ERR_FORMAT);
    CHECK(strstr(mkv_last_error(), "over the 100000000-byte limit") != NULL);
    len = UINT64_MAX;
    memcpy(long_len, &len, 8);
    CHECK_EQ_INT(mkv_safetensors_open_memory(long_len, 16, "w.safetensors", &st), MKV_ERR_FORMAT);
    EXPECT_ST("{\"a\": {\"dtype\": \"F32\",", 0, MKV_ERR_FORMAT, "not valid JSON");
    EXPECT_ST("[1, 2]", 0, MKV_ERR_FORMAT, "not a JSON object");
    EXPECT_ST("{\"a\": 5}", 0, MKV_ERR_FORMAT, "'a': entry is not a JSON object");
    EXPECT_ST("{}", 0, MKV_OK, "");
}

TEST(safetensors_rejects_bad_entries) {
    EXPECT_ST("{\"a\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8, MKV_ERR_UNSUPPORTED, "tensor 'a' has dtype I64");
    EXPECT_ST("{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, MKV_ERR_UNSUPPORTED, "F8_E4M3");
    EXPECT_ST("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, MKV_ERR_FORMAT, "no dtype");
    EXPECT_ST("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, MKV_ERR_FORMAT, "no shape");
    EXPECT_ST("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, MKV_ERR_FORMAT, "no data_offsets");
    EXPECT_ST("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,10]}}", 10, MKV_ERR_FORMAT, "shape holds");
    EXPECT_ST("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, MKV_ERR_FORMAT, "shape holds");
    EXPECT_ST("{\"a\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", 8, MKV_ERR_FORMAT, "shape holds");
    EXPECT_ST("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", 0, MKV_ERR_FORMAT, "empty dimension");
    EXPECT_ST("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, MKV_ERR_UNSUPPORTED, "5 dimensions");
    EXPECT_ST("{\"a\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],\"data_offsets\":[0,4]}}", 4, MKV_ERR_FORMAT,
              "element count overflows");
    EXPECT_ST("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, MKV_ERR_FORMAT, "invalid data_offsets");
    EXPECT_ST("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", 8, MKV_ERR_FORMAT, "invalid data_offsets");
    EXPECT_ST("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,1e300]}}", 8, MKV_ERR_FORMAT, "invalid data_offsets");
    EXPECT_ST("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 12, MKV_ERR_FORMAT, "past the end of the data");
    EXPECT_ST("{\"a\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0,8]}}", 8, MKV_ERR_FORMAT,
              "has 8 bytes of data but its shape and dtype need 24");
    EXPECT_ST("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
              "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}",
              24, MKV_ERR_FORMAT, "overlap");
    EXPECT_ST("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[2,10]}}", 10, MKV_ERR_FORMAT,
              "not aligned to its 4-byte elements");
    EXPECT_ST("{\"a\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[1,5]}}", 5, MKV_ERR_FORMAT,
              "not aligned to its 2-byte elements");
    EXPECT_ST("{\"a\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[2,6]}}", 6, MKV_OK, "");
    EXPECT_ST("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
              "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
              8, MKV_ERR_FORMAT, "duplicate tensor name 'a'");
    char header[512];
    char name[201];
    memset(name, 'n', 200);
    name[200] = '\0';
    snprintf(header, sizeof header, "{\"%s\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", name);
    EXPECT_ST(header, 4, MKV_ERR_FORMAT, "is longer than 127 bytes");
    /* a scalar (shape []) is one element */
    EXPECT_ST("{\"s\":{\"dtype\":\"F16\",\"shape\":[],\"data_offsets\":[0,2]}}", 2, MKV_OK, "");
}

TEST(safetensors_truncated_at_every_byte) {
    size_t size;
    unsigned char *img = st_image(valid_header, 40, &size);
    for (size_t len = 0; len < size; len++) {
        mkv_safetensors *st = NULL;
        mkv_status s = mkv_safetensors_open_memory(img, len, "cut.safetensors", &st);
        CHECK_MSG(s == MKV_ERR_FORMAT, "prefix of %zu bytes: status %d (%s)", len, (int)s, mkv_last_error());
        mkv_safetensors_close(st);
    }
    free(img);
}

TEST(safetensors_survives_byte_flips) {
    size_t size;
    unsigned char *img = st_image(valid_header, 40, &size);
    unsigned char *copy = malloc(size);
    unsigned state = 99;
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(copy, img, size);
        for (int k = 0; k < 1 + iter % 3; k++) {
            state = state * 1103515245u + 12345u;
            size_t pos = (state >> 8) % (size - 40);
            state = state * 1103515245u + 12345u;
            copy[pos] = (unsigned char)(state >> 16);
        }
        mkv_safetensors *st = NULL;
        mkv_status s = mkv_safetensors_open_memory(copy, size, "fuzz.safetensors", &st);
        CHECK(s == MKV_OK || s == MKV_ERR_FORMAT || s == MKV_ERR_UNSUPPORTED);
        for (int64_t i = 0; st && i < mkv_safetensors_n_tensors(st); i++) {
            const mkv_tensor *t = mkv_safetensors_tensor(st, i);
            CHECK((const unsigned char *)t->data >= copy && (const unsigned char *)t->data + t->n_bytes <= copy + size);
        }
        mkv_safetensors_close(st);
    }
    free(copy);
    free(img);
}

/* ------------------------------------------------------------ directories */

static char test_dir[64];

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

/* The runner exits normally after the last test: remove what the tests wrote. */
__attribute__((destructor)) static void remove_test_dir(void) {
    if (test_dir[0]) nftw(test_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *make_dir(const char *name) {
    static char path[4][256];
    static int slot;
    if (!test_dir[0]) {
        snprintf(test_dir, sizeof test_dir, "/tmp/mkv_test_st_XXXXXX");
        if (!mkdtemp(test_dir)) return NULL;
    }
    slot = (slot + 1) % 4;
    snprintf(path[slot], sizeof path[slot], "%s/%s", test_dir, name);
    mkdir(path[slot], 0755);
    return path[slot];
}

static void write_file(const char *dir, const char *name, const void *data, size_t n) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(data, 1, n, f);
    fclose(f);
}

static void write_text(const char *dir, const char *name, const char *text) { write_file(dir, name, text, strlen(text)); }

/* A shard holding one 4-element F32 tensor per name. */
static void write_shard(const char *dir, const char *file, int n, const char *const *names) {
    char header[1024] = "{";
    for (int i = 0; i < n; i++) {
        char entry[256];
        snprintf(entry, sizeof entry, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[%d,%d]}", i ? "," : "",
                 names[i], 16 * i, 16 * i + 16);
        strcat(header, entry);
    }
    strcat(header, "}");
    size_t size;
    unsigned char *img = st_image(header, (size_t)(16 * n), &size);
    write_file(dir, file, img, size);
    free(img);
}

#define EXPECT_DIR(dir, want_status, text)                                                            \
    do {                                                                                              \
        mkv_safetensors_set *set_ = NULL;                                                             \
        mkv_status s_ = mkv_safetensors_open_dir(dir, &set_);                                         \
        CHECK_EQ_INT(s_, want_status);                                                                \
        if (s_) CHECK_MSG(strstr(mkv_last_error(), text) != NULL, "'%s' not in: %s", text, mkv_last_error()); \
        mkv_safetensors_set_close(set_);                                                              \
    } while (0)

TEST(safetensors_dir_single_and_sharded) {
    const char *one = make_dir("one");
    REQUIRE(one != NULL);
    const char *names_a[] = {"x", "y"}, *names_b[] = {"z"};
    write_shard(one, "model.safetensors", 2, names_a);
    mkv_safetensors_set *set = NULL;
    REQUIRE(mkv_safetensors_open_dir(one, &set) == MKV_OK);
    CHECK_EQ_INT(mkv_safetensors_set_n_files(set), 1);
    CHECK(mkv_safetensors_set_find(set, "y") != NULL);
    mkv_safetensors_set_close(set);

    /* shards found by name, no index */
    const char *glob = make_dir("glob");
    write_shard(glob, "model-00002-of-00002.safetensors", 1, names_b);
    write_shard(glob, "model-00001-of-00002.safetensors", 2, names_a);
    write_text(glob, "other.safetensors", "not a shard: ignored");
    REQUIRE(mkv_safetensors_open_dir(glob, &set) == MKV_OK);
    CHECK_EQ_INT(mkv_safetensors_set_n_files(set), 2);
    CHECK(strstr(mkv_safetensors_name(mkv_safetensors_set_file(set, 0)), "model-00001") != NULL);
    const mkv_tensor *z = mkv_safetensors_set_find(set, "z");
    REQUIRE(z != NULL);
    /* the data outlives the set once the mappings are taken (the views do not) */
    const unsigned char *bytes = z->data;
    mkv_mapped_file maps[2];
    mkv_safetensors_set_take_mappings(set, maps);
    mkv_safetensors_set_close(set);
    CHECK(bytes[0] == 0 && bytes[15] == 15);
    mkv_unmap_file(&maps[0]);
    mkv_unmap_file(&maps[1]);

    /* shards named by an index */
    const char *idx = make_dir("index");
    write_shard(idx, "a.safetensors", 2, names_a);
    write_shard(idx, "b.safetensors", 1, names_b);
    write_text(idx, "model.safetensors.index.json",
               "{\"metadata\":{\"total_size\":48},\"weight_map\":{\"x\":\"a.safetensors\",\"y\":\"a.safetensors\",\"z\":\"b.safetensors\"}}");
    REQUIRE(mkv_safetensors_open_dir(idx, &set) == MKV_OK);
    CHECK_EQ_INT(mkv_safetensors_set_n_files(set), 2);
    CHECK(mkv_safetensors_set_find(set, "x") && mkv_safetensors_set_find(set, "z"));
    CHECK(mkv_safetensors_set_find(set, "w") == NULL);
    mkv_safetensors_set_close(set);
}

TEST(safetensors_dir_errors) {
    const char *names_a[] = {"x", "y"}, *names_b[] = {"z"}, *names_dup[] = {"y"};
    EXPECT_DIR("/nonexistent/checkpoint", MKV_ERR_IO, "cannot open");
    const char *empty = make_dir("empty");
    EXPECT_DIR(empty, MKV_ERR_IO, "no model*.safetensors files");
    const char *dup = make_dir("dup");
    write_shard(dup, "model-00001-of-00002.safetensors", 2, names_a);
    write_shard(dup, "model-00002-of-00002.safetensors", 1, names_dup);
    EXPECT_DIR(dup, MKV_ERR_FORMAT, "tensor 'y' is in both");
    const char *missing = make_dir("missing-shard");
    write_shard(missing, "a.safetensors", 2, names_a);
    write_text(missing, "model.safetensors.index.json", "{\"weight_map\":{\"x\":\"a.safetensors\",\"z\":\"b.safetensors\"}}");
    EXPECT_DIR(missing, MKV_ERR_IO, "b.safetensors: cannot open");
    const char *wrong = make_dir("wrong-shard");
    write_shard(wrong, "a.safetensors", 2, names_a);
    write_shard(wrong, "b.safetensors", 1, names_b);
    write_text(wrong, "model.safetensors.index.json",
               "{\"weight_map\":{\"x\":\"a.safetensors\",\"y\":\"a.safetensors\",\"z\":\"a.safetensors\",\"q\":\"b.safetensors\"}}");
    EXPECT_DIR(wrong, MKV_ERR_FORMAT, "tensor 'z' is not in a.safetensors");
    const char *fewer = make_dir("fewer");
    write_shard(fewer, "a.safetensors", 2, names_a);
    write_text(fewer, "model.safetensors.index.json", "{\"weight_map\":{\"x\":\"a.safetensors\"}}");
    EXPECT_DIR(fewer, MKV_ERR_FORMAT, "weight_map lists 1 tensors but the shards hold 2");
    const char *escape = make_dir("escape");
    write_text(escape, "model.safetensors.index.json", "{\"weight_map\":{\"x\":\"../one/model.safetensors\"}}");
    EXPECT_DIR(escape, MKV_ERR_FORMAT, "does not name a file in the directory");
    const char *badjson = make_dir("bad-index");
    write_text(badjson, "model.safetensors.index.json", "{\"weight_map\": {");
    EXPECT_DIR(badjson, MKV_ERR_FORMAT, "not valid JSON");
    const char *nomap = make_dir("no-map");
    write_text(nomap, "model.safetensors.index.json", "{\"metadata\": {}}");
    EXPECT_DIR(nomap, MKV_ERR_FORMAT, "no \"weight_map\" object");
}

TEST(safetensors_open_missing_file) {
    mkv_safetensors *st = NULL;
    CHECK_EQ_INT(mkv_safetensors_open("/nonexistent/model.safetensors", &st), MKV_ERR_IO);
    CHECK(strstr(mkv_last_error(), "/nonexistent/model.safetensors") != NULL);
}
