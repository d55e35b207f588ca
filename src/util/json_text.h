/* Writing decoded text as a JSON string: cJSON's strings stop at a NUL byte,
 * and decoded text may hold one (the token of byte 0), so the results that
 * hold text (mkv_gen_result_json) write it with this escaper (valid UTF-8 in, valid JSON out). */
#ifndef MKV_JSON_TEXT_H
#define MKV_JSON_TEXT_H

#include <stddef.h>
#include <stdio.h>

/* The JSON escape of byte c ("\\n", or "\\u0001" written into hex),
 * or NULL when c stands for itself in a JSON string. */
const char *mkv_json_escape_byte(unsigned char c, char hex[8]);
/* Writes "..." with '"', '\\' and the control characters (NUL included)
 * escaped; other bytes as they are (the text must be valid UTF-8). */
void mkv_json_write_string(FILE *out, const char *text, size_t len);

#endif
