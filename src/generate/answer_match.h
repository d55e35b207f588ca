/* Scoring of a decoded answer against an eval sample's reference answer, as
 * `maskkv eval` and tools/train/eval.py do it: exact match, or (the bare-prompt
 * sets, whose reference restates the question) the same numbers in the same
 * order, so "545", "The secret code of Edith is 545" and "Edith: 545" all answer
 * "The secret code of Edith is 545", while "545 or 123" does not. */
#ifndef MKV_ANSWER_MATCH_H
#define MKV_ANSWER_MATCH_H

#include <stdbool.h>

typedef enum {
    MKV_MATCH_EXACT = 0, /* the whole text, leading/trailing white space trimmed by the caller */
    MKV_MATCH_CODES = 1, /* the maximal runs of ASCII digits, compared in order */
} mkv_answer_match;

/* Parses a sample's "match" field ("exact" or "codes"); false for anything else. */
bool mkv_answer_match_parse(const char *name, mkv_answer_match *out);

bool mkv_answer_matches(const char *answer, const char *reference, mkv_answer_match match);

#endif
