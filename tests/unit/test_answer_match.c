/* mkv_answer_matches: exact match, and the "codes" rule of the bare-prompt eval
 * sets (the same numbers in the same order as the reference). */
#include "generate/answer_match.h"
#include "test.h"

TEST(answer_match_exact) {
    CHECK(mkv_answer_matches("545", "545", MKV_MATCH_EXACT));
    CHECK(!mkv_answer_matches("The secret code of Edith is 545", "545", MKV_MATCH_EXACT));
    CHECK(!mkv_answer_matches("54", "545", MKV_MATCH_EXACT));
}

TEST(answer_match_codes) {
    const char *one = "The secret code of Edith is 545";
    CHECK(mkv_answer_matches(one, one, MKV_MATCH_CODES));
    CHECK(mkv_answer_matches("545", one, MKV_MATCH_CODES));
    CHECK(mkv_answer_matches("Edith: 545.", one, MKV_MATCH_CODES));
    CHECK(!mkv_answer_matches("The secret code of Edith is", one, MKV_MATCH_CODES));
    CHECK(!mkv_answer_matches("545 or 123", one, MKV_MATCH_CODES));
    CHECK(!mkv_answer_matches("5450", one, MKV_MATCH_CODES));
    CHECK(!mkv_answer_matches("54 5", one, MKV_MATCH_CODES));
    CHECK(!mkv_answer_matches("", one, MKV_MATCH_CODES));
    const char *two = "The secret codes: Ann is 123, Bob is 456";
    CHECK(mkv_answer_matches("123 and 456", two, MKV_MATCH_CODES));
    CHECK(!mkv_answer_matches("456 and 123", two, MKV_MATCH_CODES)); /* in the question's order */
    CHECK(!mkv_answer_matches("The secret codes: Ann is 123, Bob is 123", two, MKV_MATCH_CODES));
    CHECK(!mkv_answer_matches("123", two, MKV_MATCH_CODES));
}

TEST(answer_match_parse) {
    mkv_answer_match m = MKV_MATCH_CODES;
    CHECK(mkv_answer_match_parse("exact", &m) && m == MKV_MATCH_EXACT);
    CHECK(mkv_answer_match_parse("codes", &m) && m == MKV_MATCH_CODES);
    CHECK(!mkv_answer_match_parse("Codes", &m));
    CHECK(!mkv_answer_match_parse("", &m));
}
