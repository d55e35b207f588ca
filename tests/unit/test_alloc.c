#include <string.h>

#include "test.h"
#include "util/alloc.h"

TEST(alloc_counts_bytes_and_peak) {
    size_t before = mkv_alloc_current_bytes();
    mkv_alloc_reset_peak();
    void *a = mkv_malloc(1000, "a");
    void *b = mkv_calloc(10, 100, "b");
    REQUIRE(a && b);
    CHECK_EQ_INT(mkv_alloc_current_bytes() - before, 2000);
    mkv_free(a);
    CHECK_EQ_INT(mkv_alloc_current_bytes() - before, 1000);
    CHECK(mkv_alloc_peak_bytes() - before >= 2000);
    mkv_free(b);
    CHECK_EQ_INT(mkv_alloc_current_bytes(), before);
}

TEST(alloc_limit_and_injected_failure) {
    mkv_alloc_set_limit(mkv_alloc_current_bytes() + 4096);
    void *ok = mkv_malloc(1024, "small");
    void *refused = mkv_malloc(8192, "kv cache");
    CHECK(ok != NULL);
    CHECK(refused == NULL);
    CHECK(mkv_last_status() == MKV_ERR_NOMEM);
    CHECK(strstr(mkv_last_error(), "kv cache") != NULL);
    mkv_free(ok);
    mkv_alloc_set_limit(0);
    mkv_alloc_fail_after(2);
    void *first = mkv_malloc(16, "first");
    void *second = mkv_malloc(16, "second");
    CHECK(first != NULL && second == NULL);
    mkv_free(first);
    mkv_alloc_fail_after(0);
}
