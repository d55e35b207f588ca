/* GGUF reader and writer: hand-built images in memory for every error path
 * (each asserting the status and a piece of the one-line message), a
 * writer round trip, truncation at every byte, byte-flip fuzzing and a
 * 152k-token vocabulary. */
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "formats/gguf.h"
#include "formats/gguf_writer.h"
#include "test.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/dtype.h"
#include "util/fp16.h"

/* ------------------------------------------------------------ image builder */

typedef struct {
    unsigned char *p;
    size_t len, cap;
} img;

static void put(img *m, const void *src, size_t n) {
    if (m->len + n > m->cap) {
        m->cap = (m->len + n) * 2 + 256;
        m->p = realloc(m->p, m->cap);
    }
    memcpy(m->p + m->len, src, n);
    m->len += n;
}
static void put_u8(img *m, uint8_t v) { put(m, &v, 1); }
static void put_u32(img *m, uint32_t v) { put(m, &v, 4); }
static void put_u64(img *m, uint64_t v) { put(m, &v, 8); }
static void put_str(img *m, const char *s) {
    put_u64(m, strlen(s));
    put(m, s, strlen(s));
}
static void put_zeros(img *m, size_t n) {
    for (size_t i = 0; i < n; i++) put_u8(m, 0);
}
static void pad_to(img *m, size_t alignment) {
    while (m->len % alignment) put_u8(m, 0);
}
static void header(img *m, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    put(m, "GGUF", 4);
    put_u32(m, version);
    put_u64(m, n_tensors);
    put_u64(m, n_kv);
}
static void kv_u32(img *m, const char *key, uint32_t v) {
    put_str(m, key);
    put_u32(m, MKV_GGUF_UINT32);
    put_u32(m, v);
}
static void tensor_info(img *m, const char *name, uint32_t n_dims, const int64_t *ne, uint32_t type, uint64_t offset) {
    put_str(m, name);
    put_u32(m, n_dims);
    for (uint32_t d = 0; d < n_dims; d++) put(m, &ne[d], 8);
    put_u32(m, type);
    put_u64(m, offset);
}

/* Opens `m` and checks the status and that the message names the file and
 * holds `text`. */
#define EXPECT_OPEN(m, want_status, text)                                                             \
    do {                                                                                              \
        mkv_gguf *g_ = NULL;                                                                          \
        mkv_status s_ = mkv_gguf_open_memory((m)->p, (m)->len, "test.gguf", &g_);                    \
        CHECK_EQ_INT(s_, want_status);                                                                \
        CHECK(g_ == NULL || s_ == MKV_OK);                                                            \
        if (s_ != MKV_OK) {                                                                           \
            CHECK_MSG(strstr(mkv_last_error(), "test.gguf") != NULL, "no file name in: %s", mkv_last_error()); \
            CHECK_MSG(strstr(mkv_last_error(), text) != NULL, "'%s' not in: %s", text, mkv_last_error());     \
        }                                                                                             \
        mkv_gguf_close(g_);                                                                           \
    } while (0)

/* A valid file with one KV of every type (nested arrays included) and one
 * tensor of every supported type. `bounds` receives the offsets where
 * sections end. */
typedef struct {
    size_t after_header, after_kv, after_infos, data_start, end;
} sections;

static const float tensor_a[8] = {1, -2, 3.5f, 4, 5, 6, 7, -8};

static void std_image(img *m, uint32_t version, sections *s) {
    memset(m, 0, sizeof *m);
    header(m, version, 5, 16);
    s->after_header = m->len;
    put_str(m, "general.architecture"); put_u32(m, MKV_GGUF_STRING); put_str(m, "llada");
    put_str(m, "k.u8"); put_u32(m, MKV_GGUF_UINT8); put_u8(m, 200);
    put_str(m, "k.i8"); put_u32(m, MKV_GGUF_INT8); put_u8(m, (uint8_t)-5);
    put_str(m, "k.u16"); put_u32(m, MKV_GGUF_UINT16); { uint16_t v = 65000; put(m, &v, 2); }
    put_str(m, "k.i16"); put_u32(m, MKV_GGUF_INT16); { int16_t v = -300; put(m, &v, 2); }
    kv_u32(m, "k.u32", 4000000000u);
    put_str(m, "k.i32"); put_u32(m, MKV_GGUF_INT32); { int32_t v = -70000; put(m, &v, 4); }
    put_str(m, "k.f32"); put_u32(m, MKV_GGUF_FLOAT32); { float v = 0.25f; put(m, &v, 4); }
    put_str(m, "k.bool"); put_u32(m, MKV_GGUF_BOOL); put_u8(m, 1);
    put_str(m, "k.str"); put_u32(m, MKV_GGUF_STRING); put_str(m, "hello");
    put_str(m, "k.u64"); put_u32(m, MKV_GGUF_UINT64); put_u64(m, 18446744073709551615ull);
    put_str(m, "k.i64"); put_u32(m, MKV_GGUF_INT64); { int64_t v = -9000000000ll; put(m, &v, 8); }
    put_str(m, "k.f64"); put_u32(m, MKV_GGUF_FLOAT64); { double v = 1e-6; put(m, &v, 8); }
    put_str(m, "k.arr_i32"); put_u32(m, MKV_GGUF_ARRAY); put_u32(m, MKV_GGUF_INT32); put_u64(m, 3);
    { int32_t v[3] = {7, -1, 42}; put(m, v, sizeof v); }
    put_str(m, "k.arr_str"); put_u32(m, MKV_GGUF_ARRAY); put_u32(m, MKV_GGUF_STRING); put_u64(m, 3);
    put_str(m, "a"); put_str(m, "bc"); put_str(m, "");
    /* an array of two arrays: [u8 x2] and [string x1] */
    put_str(m, "k.arr_arr"); put_u32(m, MKV_GGUF_ARRAY); put_u32(m, MKV_GGUF_ARRAY); put_u64(m, 2);
    put_u32(m, MKV_GGUF_UINT8); put_u64(m, 2); put_u8(m, 1); put_u8(m, 2);
    put_u32(m, MKV_GGUF_STRING); put_u64(m, 1); put_str(m, "x");
    s->after_kv = m->len;
    int64_t ne_a[2] = {4, 2}, ne_b[1] = {8}, ne_c[2] = {32, 2}, ne_d[1] = {64}, ne_e[4] = {3, 1, 1, 2};
    tensor_info(m, "a", 2, ne_a, MKV_TYPE_F32, 0);     /* 32 bytes */
    tensor_info(m, "b", 1, ne_b, MKV_TYPE_F16, 32);    /* 16 bytes */
    tensor_info(m, "c", 2, ne_c, MKV_TYPE_Q8_0, 64);   /* 68 bytes */
    tensor_info(m, "d", 1, ne_d, MKV_TYPE_Q4_0, 160);  /* 36 bytes */
    tensor_info(m, "e", 4, ne_e, MKV_TYPE_BF16, 224);  /* 12 bytes */
    s->after_infos = m->len;
    pad_to(m, 32);
    s->data_start = m->len;
    put(m, tensor_a, sizeof tensor_a);
    for (int i = 0; i < 8; i++) { uint16_t h = mkv_f32_to_f16((float)i); put(m, &h, 2); }
    pad_to(m, 32);
    for (int b = 0; b < 2; b++) { uint16_t d = mkv_f32_to_f16(0.5f); put(m, &d, 2); for (int j = 0; j < 32; j++) put_u8(m, (uint8_t)(j - 16)); }
    pad_to(m, 32);
    for (int b = 0; b < 2; b++) { uint16_t d = mkv_f32_to_f16(2.0f); put(m, &d, 2); for (int j = 0; j < 16; j++) put_u8(m, 0x9f); }
    pad_to(m, 32);
    for (int i = 0; i < 6; i++) { uint16_t h = mkv_f32_to_bf16((float)i * 0.5f); put(m, &h, 2); }
    s->end = m->len;
}

/* ------------------------------------------------------------ valid files */

TEST(gguf_reads_every_value_type) {
    img m;
    sections s;
    std_image(&m, 3, &s);
    mkv_gguf *g = NULL;
    mkv_status open_st = mkv_gguf_open_memory(m.p, m.len, "std.gguf", &g);
    CHECK_MSG(open_st == MKV_OK, "%s", mkv_last_error());
    REQUIRE(open_st == MKV_OK);
    CHECK_EQ_INT(mkv_gguf_version(g), 3);
    CHECK_EQ_INT(mkv_gguf_alignment(g), 32);
    CHECK_EQ_INT(mkv_gguf_n_kv(g), 16);
    CHECK(strcmp(mkv_gguf_name(g), "std.gguf") == 0);
    uint32_t u32;
    int64_t i64;
    float f;
    bool b;
    mkv_gguf_str str;
    CHECK(mkv_gguf_get_u32(g, "k.u8", &u32) && u32 == 200);
    CHECK(mkv_gguf_get_i64(g, "k.i8", &i64) && i64 == -5);
    CHECK(!mkv_gguf_get_u32(g, "k.i8", &u32)); /* negative: does not fit */
    CHECK(mkv_gguf_get_u32(g, "k.u16", &u32) && u32 == 65000);
    CHECK(mkv_gguf_get_i64(g, "k.i16", &i64) && i64 == -300);
    CHECK(mkv_gguf_get_u32(g, "k.u32", &u32) && u32 == 4000000000u);
    CHECK(mkv_gguf_get_i64(g, "k.i32", &i64) && i64 == -70000);
    CHECK(mkv_gguf_get_f32(g, "k.f32", &f) && f == 0.25f);
    CHECK(!mkv_gguf_get_f32(g, "k.u32", &f)); /* not a float type */
    CHECK(mkv_gguf_get_bool(g, "k.bool", &b) && b);
    CHECK(mkv_gguf_get_str(g, "k.str", &str) && str.len == 5 && memcmp(str.data, "hello", 5) == 0);
    CHECK(!mkv_gguf_get_i64(g, "k.u64", &i64)); /* 2^64-1 does not fit int64 */
    CHECK(!mkv_gguf_get_u32(g, "k.u64", &u32));
    CHECK(mkv_gguf_get_i64(g, "k.i64", &i64) && i64 == -9000000000ll);
    CHECK(mkv_gguf_get_f32(g, "k.f64", &f) && fabsf(f - 1e-6f) < 1e-12f);
    CHECK(!mkv_gguf_get_str(g, "k.u8", &str));
    CHECK(!mkv_gguf_get_u32(g, "no.such.key", &u32));
    CHECK_EQ_INT(mkv_gguf_find_key(g, "no.such.key"), -1);
    int64_t idx = mkv_gguf_find_key(g, "k.str");
    CHECK_EQ_INT(idx, 9);
    CHECK_EQ_INT(mkv_gguf_key_type(g, idx), MKV_GGUF_STRING);
    CHECK(mkv_gguf_key_name(g, idx).len == 5);
    CHECK(mkv_gguf_key_name(g, 99).data == NULL);

    mkv_gguf_type et;
    uint64_t count;
    CHECK(mkv_gguf_get_arr_info(g, "k.arr_i32", &et, &count) && et == MKV_GGUF_INT32 && count == 3);
    CHECK(mkv_gguf_get_arr_i64(g, "k.arr_i32", 1, &i64) && i64 == -1);
    CHECK(mkv_gguf_get_arr_i64(g, "k.arr_i32", 2, &i64) && i64 == 42);
    CHECK(!mkv_gguf_get_arr_i64(g, "k.arr_i32", 3, &i64));
    const void *raw = mkv_gguf_get_arr_data(g, "k.arr_i32", &et, &count);
    int32_t first = 0;
    if (raw) memcpy(&first, raw, 4); /* metadata arrays are packed, not aligned */
    CHECK(raw && first == 7 && count == 3);
    CHECK(mkv_gguf_get_arr_str(g, "k.arr_str", 1, &str) && str.len == 2 && memcmp(str.data, "bc", 2) == 0);
    CHECK(mkv_gguf_get_arr_str(g, "k.arr_str", 2, &str) && str.len == 0);
    CHECK(!mkv_gguf_get_arr_str(g, "k.arr_str", 3, &str));
    CHECK(!mkv_gguf_get_arr_data(g, "k.arr_str", &et, &count));
    CHECK(mkv_gguf_get_arr_info(g, "k.arr_arr", &et, &count) && et == MKV_GGUF_ARRAY && count == 2);
    CHECK(!mkv_gguf_get_arr_str(g, "k.arr_arr", 0, &str));
    CHECK(!mkv_gguf_get_arr_i64(g, "k.arr_arr", 0, &i64));

    CHECK_EQ_INT(mkv_gguf_n_tensors(g), 5);
    const mkv_tensor *a = mkv_gguf_find_tensor(g, "a");
    REQUIRE(a != NULL);
    CHECK(a->dtype == MKV_TYPE_F32 && a->n_dims == 2 && a->ne[0] == 4 && a->ne[1] == 2 && a->ne[2] == 1 && a->n_bytes == 32);
    CHECK(memcmp(a->data, tensor_a, sizeof tensor_a) == 0);
    CHECK((const unsigned char *)a->data == m.p + s.data_start);
    const mkv_tensor *c = mkv_gguf_find_tensor(g, "c");
    REQUIRE(c != NULL);
    CHECK(c->dtype == MKV_TYPE_Q8_0 && c->n_bytes == 68);
    float deq[64];
    mkv_dtype_info(MKV_TYPE_Q8_0)->to_float(c->data, deq, 64);
    CHECK(deq[0] == -8.0f && deq[33] == -7.5f);
    const mkv_tensor *d = mkv_gguf_find_tensor(g, "d");
    REQUIRE(d != NULL);
    mkv_dtype_info(MKV_TYPE_Q4_0)->to_float(d->data, deq, 64);
    CHECK(deq[0] == 14.0f && deq[16] == 2.0f); /* (0xf-8)*2, (0x9-8)*2 */
    const mkv_tensor *e = mkv_gguf_find_tensor(g, "e");
    REQUIRE(e != NULL);
    CHECK(e->n_dims == 4 && e->ne[3] == 2 && e->n_bytes == 12 && e->dtype == MKV_TYPE_BF16);
    CHECK(mkv_gguf_tensor(g, 1) == mkv_gguf_find_tensor(g, "b"));
    CHECK(mkv_gguf_tensor(g, 5) == NULL);
    CHECK(mkv_gguf_find_tensor(g, "zz") == NULL);
    mkv_gguf_close(g);
    free(m.p);
}

TEST(gguf_accepts_version_2_and_rejects_1) {
    img m;
    sections s;
    std_image(&m, 2, &s);
    EXPECT_OPEN(&m, MKV_OK, "");
    m.p[4] = 1;
    EXPECT_OPEN(&m, MKV_ERR_UNSUPPORTED, "version 1");
    m.p[4] = 4;
    EXPECT_OPEN(&m, MKV_ERR_UNSUPPORTED, "version 4");
    uint32_t be = __builtin_bswap32(3);
    memcpy(m.p + 4, &be, 4);
    EXPECT_OPEN(&m, MKV_ERR_UNSUPPORTED, "big-endian");
    free(m.p);
}

TEST(gguf_rejects_bad_magic_and_empty) {
    img m;
    sections s;
    std_image(&m, 3, &s);
    m.p[0] = 'X';
    EXPECT_OPEN(&m, MKV_ERR_FORMAT, "bad magic");
    mkv_gguf *g = NULL;
    CHECK_EQ_INT(mkv_gguf_open_memory(m.p, 0, "test.gguf", &g), MKV_ERR_FORMAT);
    CHECK_EQ_INT(mkv_gguf_open_memory(NULL, 100, "test.gguf", &g), MKV_ERR_FORMAT);
    free(m.p);
}

TEST(gguf_truncated_at_every_byte) {
    img m;
    sections s;
    std_image(&m, 3, &s);
    for (size_t len = 0; len < m.len; len++) {
        mkv_gguf *g = NULL;
        mkv_status st = mkv_gguf_open_memory(m.p, len, "test.gguf", &g);
        CHECK_MSG(st == MKV_ERR_FORMAT, "prefix of %zu bytes: status %d", len, (int)st);
        const char *msg = mkv_last_error();
        CHECK_MSG(strstr(msg, "truncated") || strstr(msg, "outside the file") || strstr(msg, "bad magic") ||
                      strstr(msg, "cannot fit") || strstr(msg, "past the end of the file") || strstr(msg, "remain"),
                  "prefix of %zu bytes: %s", len, msg);
        mkv_gguf_close(g);
    }
    /* The messages at the section boundaries say what is missing. */
    size_t full = m.len;
    m.len = s.after_header;
    EXPECT_OPEN(&m, MKV_ERR_FORMAT, "cannot fit");
    m.len = s.after_kv;
    EXPECT_OPEN(&m, MKV_ERR_FORMAT, "truncated: tensor name");
    m.len = s.after_infos;
    EXPECT_OPEN(&m, MKV_ERR_FORMAT, "tensor data would start");
    m.len = s.data_start;
    EXPECT_OPEN(&m, MKV_ERR_FORMAT, "lies outside the file");
    m.len = full;
    EXPECT_OPEN(&m, MKV_OK, "");
    free(m.p);
}

TEST(gguf_rejects_absurd_counts) {
    img m = {0};
    header(&m, 3, UINT64_MAX, 0);
    put_zeros(&m, 64);
    EXPECT_OPEN(&m, MKV_ERR_FORMAT, "tensor count 18446744073709551615");
    m.len = 0;
    header(&m, 3, 0, (uint64_t)1 << 63);
    put_zeros(&m, 64);
    EXPECT_OPEN(&m, MKV_ERR_FORMAT, "key-value count");
    /* a string longer than the file */
    m.len = 0;
    header(&m, 3, 0, 1);
    put_u64(&m, UINT64_MAX - 3);
    put(&m, "k", 1);
    put_zeros(&m, 16);
    EXPECT_OPEN(&m, MKV_ERR_FORMAT, "past the end of the file");
    /* a string value whose length wraps when added to the position */
    m.len = 0;
    header(&m, 3, 0, 1);
    put_str(&m, "k");
    put_u32(&m, MKV_GGUF_STRING);
    put_u64(&m, UINT64_MAX);
    put_zeros(&m, 16);
    EXPECT_OPEN(&m, MKV_ERR_FORMAT, "string value");
    /* arrays of every kind with counts near 2^64 */
    const uint32_t elem_types[] = {MKV_GGUF_UINT8, MKV_GGUF_UINT64, MKV_GGUF_STRING, MKV_GGUF_ARRAY};
    const uint64_t counts[] = {UINT64_MAX, UINT64_MAX / 8 + 1, (uint64_t)1 << 61, UINT64_MAX / 12};
    for (int i = 0; i < 4; i++) {
        m.len = 0;
        header(&m, 3, 0, 1);
        put_str(&m, "k.arr");
        put_u32(&m, MKV_GGUF_ARRAY);
        put_u32(&m, elem_types[i]);
        put_u64(&m, counts[i]);
        put_zeros(&m, 40);
        EXPECT_OPEN(&m, MKV_ERR_FORMAT, "k.arr");
    }
    free(m.p);
}

TEST(gguf_rejects_bad_value_types_and_nesting) {
    img m = {0};
    header(&m, 3, 0, 1);
    put_str(&m, "k.bad");
    put_u32(&m, 13);
    put_u32(&m, 0);
    EXPECT_OPEN(&m, MKV_ERR_FORMAT, "unknown value type 13");
    m.len = 0;
    header(&m, 3, 0, 1);
    put_str(&m, "k.bad");
    put_u32(&m, MKV_GGUF_ARRAY);
    put_u32(&m, 99);
    put_u64(&m, 0);
    EXPECT_OPEN(&m, MKV_ERR_FORMAT, "unknown array element type 99");
    /* arrays nested deeper than the limit */
    m.len = 0;
    header(&m, 3, 0, 1);
    put_str(&m, "k.deep");
    put_u32(&m, MKV_GGUF_ARRAY);
    for (int i = 0; i < 20; i++) {
        put_u32(&m, MKV_GGUF_ARRAY);
        put_u64(&m, 1);
    }
    put_u32(&m, MKV_GGUF_UINT8);
    put_u64(&m, 0);
    EXPECT_OPEN(&m, MKV_ERR_FORMAT, "nested more than");
    /* duplicate keys */
    m.len = 0;
    header(&m, 3, 0, 2);
    kv_u32(&m, "k.same", 1);
    kv_u32(&m, "k.same", 2);
    EXPECT_OPEN(&m, MKV_ERR_FORMAT, "duplicate key 'k.same'");
    free(m.p);
}

TEST(gguf_alignment_rules) {
    int64_t ne[1] = {8};
    img m = {0};
    /* custom alignment 64: the data section and offsets follow it */
    header(&m, 3, 2, 1);
    kv_u32(&m, "general.alignment", 64);
    tensor_info(&m, "t0", 1, ne, MKV_TYPE_F32, 0);
    tensor_info(&m, "t1", 1, ne, MKV_TYPE_F32, 64);
    pad_to(&m, 64);
    size_t data_start = m.len;
    put_zeros(&m, 96);
    mkv_gguf *g = NULL;
    REQUIRE(mkv_gguf_open_memory(m.p, m.len, "a.gguf", &g) == MKV_OK);
    CHECK_EQ_INT(mkv_gguf_alignment(g), 64);
    CHECK((const unsigned char *)mkv_gguf_find_tensor(g, "t1")->data == m.p + data_start + 64);
    mkv_gguf_close(g);
    /* an offset that is a multiple of 32 but not of 64 */
    m.len = 0;
    header(&m, 3, 1, 1);
    kv_u32(&m, "general.alignment", 64);
    tensor_info(&m, "t0", 1, ne, MKV_TYPE_F32, 32);
    pad_to(&m, 64);
    put_zeros(&m, 128);
    EXPECT_OPEN(&m, MKV_ERR_FORMAT, "not a multiple of the alignment 64");
    /* not a power of two, zero, wrong type */
    const uint32_t bad[] = {48, 0};
    for (int i = 0; i < 2; i++) {
        m.len = 0;
        header(&m, 3, 0, 1);
        kv_u32(&m, "general.alignment", bad[i]);
        EXPECT_OPEN(&m, MKV_ERR_FORMAT, "not a power of two");
    }
    m.len = 0;
    header(&m, 3, 0, 1);
    put_str(&m, "general.alignment");
    put_u32(&m, MKV_GGUF_UINT64);
    put_u64(&m, 32);
    EXPECT_OPEN(&m, MKV_ERR_FORMAT, "expected uint32");
    free(m.p);
}

/* One tensor info followed by `data_bytes` of data. */
static void one_tensor(img *m, const char *name, uint32_t n_dims, const int64_t *ne, uint32_t type, uint64_t offset,
                       size_t data_bytes) {
    m->len = 0;
    header(m, 3, 1, 0);
    tensor_info(m, name, n_dims, ne, type, offset);
    pad_to(m, 32);
    put_zeros(m, data_bytes);
}

TEST(gguf_rejects_bad_tensor_infos) {
    img m = {0};
    int64_t ne[5] = {4, 4, 1, 1, 1};
    one_tensor(&m, "w", 0, ne, MKV_TYPE_F32, 0, 64);
    EXPECT_OPEN(&m, MKV_ERR_FORMAT, "tensor 'w' has 0 dimensions");
    one_tensor(&m, "w", 5, ne, MKV_TYPE_F32, 0, 64);
    EXPECT_OPEN(&m, MKV_ERR_FORMAT, "tensor 'w' has 5 dimensions");
    int64_t zero[2] = {4, 0}, neg[2] = {-4, 4};
    one_tensor(&m, "w", 2, zero, MKV_TYPE_F32, 0, 64);
    EXPECT_OPEN(&m, MKV_ERR_FORMAT, "dimension 1 of size 0");
    one_tensor(&m, "w", 2, neg, MKV_TYPE_F32, 0, 64);
    EXPECT_OPEN(&m, MKV_ERR_FORMAT, "dimension 0 of size -4");
    int64_t huge[3] = {(int64_t)1 << 40, (int64_t)1 << 30, 1 << 10};
    one_tensor(&m, "w", 3, huge, MKV_TYPE_F32, 0, 64);
    EXPECT_OPEN(&m, MKV_ERR_FORMAT, "element count overflows");
    int64_t big[2] = {(int64_t)1 << 31, (int64_t)1 << 31}; /* 2^62 elements x 4 bytes > SIZE_MAX */
    one_tensor(&m, "w", 2, big, MKV_TYPE_F32, 0, 64);
    EXPECT_OPEN(&m, MKV_ERR_FORMAT, "byte size overflows");
    one_tensor(&m, "iq4xs", 2, ne, 23, 0, 64);
    EXPECT_OPEN(&m, MKV_ERR_UNSUPPORTED, "tensor 'iq4xs' has type iq4_xs, which maskkv does not support");
    one_tensor(&m, "w", 2, ne, 1000, 0, 64);
    EXPECT_OPEN(&m, MKV_ERR_UNSUPPORTED, "ggml type 1000");
    int64_t odd[2] = {33, 2};
    one_tensor(&m, "w", 2, odd, MKV_TYPE_Q8_0, 0, 256);
    EXPECT_OPEN(&m, MKV_ERR_FORMAT, "not a multiple of 32");
    one_tensor(&m, "w", 2, ne, MKV_TYPE_F32, 16, 128);
    EXPECT_OPEN(&m, MKV_ERR_FORMAT, "not a multiple of the alignment 32");
    one_tensor(&m, "w", 2, ne, MKV_TYPE_F32, 0, 63);
    EXPECT_OPEN(&m, MKV_ERR_FORMAT, "lies outside the file");
    one_tensor(&m, "w", 2, ne, MKV_TYPE_F32, UINT64_MAX - 31, 64); /* offset + size wraps */
    EXPECT_OPEN(&m, MKV_ERR_FORMAT, "lies outside the file");
    one_tensor(&m, "", 2, ne, MKV_TYPE_F32, 0, 64);
    EXPECT_OPEN(&m, MKV_ERR_FORMAT, "empty name");
    char long_name[200];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    one_tensor(&m, long_name, 2, ne, MKV_TYPE_F32, 0, 64);
    EXPECT_OPEN(&m, MKV_ERR_FORMAT, "name of 199 bytes");
    free(m.p);
}

TEST(gguf_rejects_overlapping_and_duplicate_tensors) {
    img m = {0};
    int64_t ne[1] = {16}; /* 64 bytes of f32 */
    header(&m, 3, 2, 0);
    tensor_info(&m, "x", 1, ne, MKV_TYPE_F32, 0);
    tensor_info(&m, "y", 1, ne, MKV_TYPE_F32, 32);
    pad_to(&m, 32);
    put_zeros(&m, 128);
    EXPECT_OPEN(&m, MKV_ERR_FORMAT, "overlap");
    m.len = 0;
    header(&m, 3, 2, 0);
    tensor_info(&m, "x", 1, ne, MKV_TYPE_F32, 0);
    tensor_info(&m, "x", 1, ne, MKV_TYPE_F32, 64);
    pad_to(&m, 32);
    put_zeros(&m, 128);
    EXPECT_OPEN(&m, MKV_ERR_FORMAT, "duplicate tensor name 'x'");
    /* out of order but disjoint is fine */
    m.len = 0;
    header(&m, 3, 2, 0);
    tensor_info(&m, "x", 1, ne, MKV_TYPE_F32, 64);
    tensor_info(&m, "y", 1, ne, MKV_TYPE_F32, 0);
    pad_to(&m, 32);
    put_zeros(&m, 128);
    EXPECT_OPEN(&m, MKV_OK, "");
    free(m.p);
}

TEST(gguf_survives_byte_flips) {
    img m;
    sections s;
    std_image(&m, 3, &s);
    unsigned char *copy = malloc(m.len);
    unsigned state = 12345;
    int n_ok = 0;
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(copy, m.p, m.len);
        int flips = 1 + iter % 4;
        for (int k = 0; k < flips; k++) {
            state = state * 1103515245u + 12345u;
            size_t pos = (state >> 8) % s.data_start; /* the metadata, where parsing happens */
            state = state * 1103515245u + 12345u;
            copy[pos] = (unsigned char)(state >> 16);
        }
        mkv_gguf *g = NULL;
        mkv_status st = mkv_gguf_open_memory(copy, m.len, "fuzz.gguf", &g);
        CHECK(st == MKV_OK || st == MKV_ERR_FORMAT || st == MKV_ERR_UNSUPPORTED);
        if (st == MKV_OK) {
            n_ok++;
            for (int64_t i = 0; i < mkv_gguf_n_tensors(g); i++) {
                const mkv_tensor *t = mkv_gguf_tensor(g, i);
                CHECK((const unsigned char *)t->data >= copy && (const unsigned char *)t->data + t->n_bytes <= copy + m.len);
            }
        }
        mkv_gguf_close(g);
    }
    CHECK(n_ok > 0);
    free(copy);
    free(m.p);
}

TEST(gguf_open_failures_do_not_leak) {
    img m;
    sections s;
    std_image(&m, 3, &s);
    size_t before = mkv_alloc_current_bytes();
    for (long n = 1; n < 20; n++) {
        mkv_alloc_fail_after(n);
        mkv_gguf *g = NULL;
        mkv_status st = mkv_gguf_open_memory(m.p, m.len, "oom.gguf", &g);
        mkv_alloc_fail_after(0);
        CHECK(st == MKV_OK || st == MKV_ERR_NOMEM);
        mkv_gguf_close(g);
        CHECK_EQ_INT(mkv_alloc_current_bytes(), before);
    }
    free(m.p);
}

TEST(gguf_open_missing_file_is_io_error) {
    mkv_gguf *g = NULL;
    CHECK_EQ_INT(mkv_gguf_open("/nonexistent/dir/model.gguf", &g), MKV_ERR_IO);
    CHECK(strstr(mkv_last_error(), "/nonexistent/dir/model.gguf") != NULL);
    CHECK(g == NULL);
}

/* ------------------------------------------------------------ writer */

static char gguf_test_dir[64];

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

/* The runner exits normally after the last test: remove what the tests wrote. */
__attribute__((destructor)) static void remove_gguf_test_dir(void) {
    if (gguf_test_dir[0]) nftw(gguf_test_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char *temp_path(const char *file) {
    char *dir = gguf_test_dir;
    if (!dir[0]) {
        snprintf(gguf_test_dir, sizeof gguf_test_dir, "/tmp/mkv_test_gguf_XXXXXX");
        if (!mkdtemp(dir)) return NULL;
    }
    static char path[4][128];
    static int slot;
    slot = (slot + 1) % 4;
    snprintf(path[slot], sizeof path[slot], "%s/%s", dir, file);
    return path[slot];
}

TEST(gguf_writer_round_trip) {
    const char *path = temp_path("rt.gguf");
    REQUIRE(path != NULL);
    mkv_gguf_writer *w = NULL;
    REQUIRE(mkv_gguf_writer_open(path, &w) == MKV_OK);
    CHECK(mkv_gguf_writer_add_str(w, "general.architecture", "dream") == MKV_OK);
    CHECK(mkv_gguf_writer_set_alignment(w, 64) == MKV_OK);
    CHECK(mkv_gguf_writer_add_u8(w, "v.u8", 7) == MKV_OK);
    CHECK(mkv_gguf_writer_add_i8(w, "v.i8", -7) == MKV_OK);
    CHECK(mkv_gguf_writer_add_u16(w, "v.u16", 700) == MKV_OK);
    CHECK(mkv_gguf_writer_add_i16(w, "v.i16", -700) == MKV_OK);
    CHECK(mkv_gguf_writer_add_u32(w, "v.u32", 70000) == MKV_OK);
    CHECK(mkv_gguf_writer_add_i32(w, "v.i32", -70000) == MKV_OK);
    CHECK(mkv_gguf_writer_add_f32(w, "v.f32", 1.5f) == MKV_OK);
    CHECK(mkv_gguf_writer_add_bool(w, "v.bool", true) == MKV_OK);
    CHECK(mkv_gguf_writer_add_u64(w, "v.u64", 1ull << 40) == MKV_OK);
    CHECK(mkv_gguf_writer_add_i64(w, "v.i64", -(1ll << 40)) == MKV_OK);
    CHECK(mkv_gguf_writer_add_f64(w, "v.f64", 0.125) == MKV_OK);
    const char *strs[] = {"alpha", "", "gamma"};
    CHECK(mkv_gguf_writer_add_arr_str(w, "v.strs", strs, 3) == MKV_OK);
    const float fl[4] = {1, 2, 3, 4};
    CHECK(mkv_gguf_writer_add_arr(w, "v.floats", MKV_GGUF_FLOAT32, fl, 4) == MKV_OK);
    CHECK(mkv_gguf_writer_add_arr(w, "v.bad", MKV_GGUF_STRING, fl, 4) == MKV_ERR_INPUT);
    CHECK_EQ_INT(mkv_gguf_writer_add_u32(w, "v.u32", 1), MKV_ERR_INPUT); /* duplicate key */
    CHECK(strstr(mkv_last_error(), "duplicate key 'v.u32'") != NULL);
    int64_t ne_a[2] = {64, 3}, ne_b[1] = {5};
    CHECK(mkv_gguf_writer_add_tensor_info(w, "a", MKV_TYPE_Q8_0, 2, ne_a) == MKV_OK);
    CHECK(mkv_gguf_writer_add_tensor_info(w, "b", MKV_TYPE_F32, 1, ne_b) == MKV_OK);
    CHECK_EQ_INT(mkv_gguf_writer_add_tensor_info(w, "a", MKV_TYPE_F32, 1, ne_b), MKV_ERR_INPUT);
    int64_t ne_odd[1] = {33};
    CHECK_EQ_INT(mkv_gguf_writer_add_tensor_info(w, "odd", MKV_TYPE_Q4_0, 1, ne_odd), MKV_ERR_INPUT);
    CHECK_EQ_INT(mkv_gguf_writer_n_tensors(w), 2);
    REQUIRE(mkv_gguf_writer_write_header(w) == MKV_OK);
    CHECK_EQ_INT(mkv_gguf_writer_add_u32(w, "late", 1), MKV_ERR_INPUT);
    float values[192];
    for (int i = 0; i < 192; i++) values[i] = (float)(i % 17) - 8.0f;
    mkv_block_q8_0 q[6];
    mkv_dtype_info(MKV_TYPE_Q8_0)->from_float(values, q, 192);
    CHECK_EQ_INT(mkv_gguf_writer_next_tensor_bytes(w), sizeof q);
    /* in two pieces */
    CHECK(mkv_gguf_writer_write_tensor(w, q, 2 * sizeof q[0]) == MKV_OK);
    CHECK(mkv_gguf_writer_write_tensor(w, &q[2], 4 * sizeof q[0]) == MKV_OK);
    CHECK_EQ_INT(mkv_gguf_writer_write_tensor(w, values, 24), MKV_ERR_INPUT); /* 20 bytes expected */
    CHECK(mkv_gguf_writer_write_tensor(w, values, 20) == MKV_OK);
    REQUIRE(mkv_gguf_writer_finish(w) == MKV_OK);

    mkv_gguf *g = NULL;
    REQUIRE(mkv_gguf_open(path, &g) == MKV_OK);
    CHECK_EQ_INT(mkv_gguf_version(g), 3);
    CHECK_EQ_INT(mkv_gguf_alignment(g), 64);
    CHECK_EQ_INT(mkv_gguf_n_kv(g), 15);
    uint32_t u32;
    int64_t i64;
    float f;
    bool b;
    mkv_gguf_str s;
    CHECK(mkv_gguf_get_str(g, "general.architecture", &s) && s.len == 5);
    CHECK(mkv_gguf_get_u32(g, "v.u8", &u32) && u32 == 7);
    CHECK(mkv_gguf_get_i64(g, "v.i8", &i64) && i64 == -7);
    CHECK(mkv_gguf_get_u32(g, "v.u16", &u32) && u32 == 700);
    CHECK(mkv_gguf_get_i64(g, "v.i16", &i64) && i64 == -700);
    CHECK(mkv_gguf_get_u32(g, "v.u32", &u32) && u32 == 70000);
    CHECK(mkv_gguf_get_i64(g, "v.i32", &i64) && i64 == -70000);
    CHECK(mkv_gguf_get_f32(g, "v.f32", &f) && f == 1.5f);
    CHECK(mkv_gguf_get_bool(g, "v.bool", &b) && b);
    CHECK(mkv_gguf_get_i64(g, "v.u64", &i64) && i64 == 1ll << 40);
    CHECK(mkv_gguf_get_i64(g, "v.i64", &i64) && i64 == -(1ll << 40));
    CHECK(mkv_gguf_get_f32(g, "v.f64", &f) && f == 0.125f);
    CHECK(mkv_gguf_get_arr_str(g, "v.strs", 2, &s) && s.len == 5 && !memcmp(s.data, "gamma", 5));
    mkv_gguf_type et;
    uint64_t count;
    const unsigned char *rf = mkv_gguf_get_arr_data(g, "v.floats", &et, &count);
    float f3 = 0;
    if (rf) memcpy(&f3, rf + 12, 4);
    CHECK(rf && et == MKV_GGUF_FLOAT32 && count == 4 && f3 == 4);
    const mkv_tensor *a = mkv_gguf_find_tensor(g, "a"), *bt = mkv_gguf_find_tensor(g, "b");
    REQUIRE(a && bt);
    CHECK(a->dtype == MKV_TYPE_Q8_0 && a->ne[0] == 64 && a->ne[1] == 3 && memcmp(a->data, q, sizeof q) == 0);
    CHECK(bt->dtype == MKV_TYPE_F32 && memcmp(bt->data, values, 20) == 0);
    CHECK(((const unsigned char *)bt->data - (const unsigned char *)a->data) % 64 == 0);
    mkv_gguf_close(g);
    unlink(path);
}

TEST(gguf_writer_errors) {
    mkv_gguf_writer *w = NULL;
    CHECK_EQ_INT(mkv_gguf_writer_open("/nonexistent/dir/out.gguf", &w), MKV_ERR_IO);
    CHECK(strstr(mkv_last_error(), "/nonexistent/dir/out.gguf") != NULL);
    const char *path = temp_path("missing.gguf");
    REQUIRE(mkv_gguf_writer_open(path, &w) == MKV_OK);
    int64_t ne[1] = {4};
    CHECK(mkv_gguf_writer_set_alignment(w, 24) == MKV_ERR_INPUT);
    CHECK(mkv_gguf_writer_add_tensor_info(w, "t", MKV_TYPE_F32, 1, ne) == MKV_OK);
    CHECK(mkv_gguf_writer_write_tensor(w, ne, 16) == MKV_ERR_INPUT); /* before the header */
    REQUIRE(mkv_gguf_writer_write_header(w) == MKV_OK);
    CHECK_EQ_INT(mkv_gguf_writer_finish(w), MKV_ERR_INPUT); /* tensor data never written */
    CHECK(strstr(mkv_last_error(), "'t' was never written") != NULL);
    CHECK(access(path, F_OK) != 0); /* the partial file is removed */
}

/* ------------------------------------------------------------ scale */

static const char *vocab_token(void *ctx, uint64_t index, size_t *len) {
    char *buf = ctx;
    *len = (size_t)snprintf(buf, 32, "tok%llu", (unsigned long long)index);
    return buf;
}

TEST(gguf_large_vocab_is_fast) {
    const char *path = temp_path("vocab.gguf");
    const uint64_t n = 152064;
    mkv_gguf_writer *w = NULL;
    REQUIRE(mkv_gguf_writer_open(path, &w) == MKV_OK);
    char buf[32];
    CHECK(mkv_gguf_writer_add_arr_str_fn(w, "tokenizer.ggml.tokens", n, vocab_token, buf) == MKV_OK);
    int32_t *types = malloc(n * sizeof *types);
    for (uint64_t i = 0; i < n; i++) types[i] = 1;
    CHECK(mkv_gguf_writer_add_arr(w, "tokenizer.ggml.token_type", MKV_GGUF_INT32, types, n) == MKV_OK);
    free(types);
    REQUIRE(mkv_gguf_writer_finish(w) == MKV_OK);
    double start = mkv_now_seconds();
    mkv_gguf *g = NULL;
    REQUIRE(mkv_gguf_open(path, &g) == MKV_OK);
    uint64_t total = 0;
    mkv_gguf_str s;
    for (uint64_t i = 0; i < n; i++)
        if (mkv_gguf_get_arr_str(g, "tokenizer.ggml.tokens", i, &s)) total += s.len;
    CHECK(mkv_gguf_get_arr_str(g, "tokenizer.ggml.tokens", 151999, &s) && s.len == 9 && !memcmp(s.data, "tok151999", 9));
    double seconds = mkv_now_seconds() - start;
    CHECK(total > n * 4);
    CHECK_MSG(seconds < 2.0, "opening and reading a %llu-token vocabulary took %.2f s", (unsigned long long)n, seconds);
    mkv_gguf_close(g);
    unlink(path);
}
