/* Minimal self-registering unit-test framework. The runner (tests/unit/main.c)
 * runs every TEST, or those whose name contains argv[1], and ends with the
 * line "N passed, N failed, N skipped". CHECK records a failure and continues; REQUIRE
 * records a failure and ends the test. */
#ifndef MKV_TEST_H
#define MKV_TEST_H

#include <math.h>
#include <stdio.h>

typedef void (*mkv_test_fn)(void);
void mkv_test_register(const char *name, const char *file, mkv_test_fn fn);
void mkv_test_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void mkv_test_abort_current(void) __attribute__((noreturn));
/* Ends the current test as skipped (the hardware it checks is absent): the
 * runner counts it apart, never as passed. */
void mkv_test_skip(const char *why) __attribute__((noreturn));
/* Path of a file under tests/ (the runner finds the directory). */
const char *mkv_test_path(const char *relative);

#define TEST(name)                                                                   \
    static void name(void);                                                          \
    __attribute__((constructor)) static void register_##name(void) {                 \
        mkv_test_register(#name, __FILE__, name);                                    \
    }                                                                                \
    static void name(void)

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) mkv_test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);          \
    } while (0)
#define CHECK_MSG(cond, ...)                                                         \
    do {                                                                             \
        if (!(cond)) mkv_test_fail(__FILE__, __LINE__, __VA_ARGS__);                 \
    } while (0)
#define REQUIRE(cond)                                                                \
    do {                                                                             \
        if (!(cond)) {                                                               \
            mkv_test_fail(__FILE__, __LINE__, "REQUIRE(%s)", #cond);                 \
            mkv_test_abort_current();                                                \
        }                                                                            \
    } while (0)
#define CHECK_EQ_INT(a, b)                                                           \
    do {                                                                             \
        long long va_ = (long long)(a), vb_ = (long long)(b);                        \
        if (va_ != vb_) mkv_test_fail(__FILE__, __LINE__, "%s == %s (%lld vs %lld)", #a, #b, va_, vb_); \
    } while (0)
#define CHECK_NEAR(a, b, tol)                                                        \
    do {                                                                             \
        double va_ = (double)(a), vb_ = (double)(b);                                 \
        if (!(fabs(va_ - vb_) <= (tol))) mkv_test_fail(__FILE__, __LINE__, "%s ~= %s (%.9g vs %.9g, tol %g)", #a, #b, va_, vb_, (double)(tol)); \
    } while (0)

#endif
