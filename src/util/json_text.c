#include "util/json_text.h"

const char *mkv_json_escape_byte(unsigned char c, char hex[8]) {
    switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    case '\b': return "\\b";
    case '\f': return "\\f";
    default:
        if (c >= 0x20 && c != 0x7f) return NULL;
        snprintf(hex, 8, "\\u%04x", c);
        return hex;
    }
}

void mkv_json_write_string(FILE *out, const char *text, size_t len) {
    fputc('"', out);
    for (size_t i = 0; i < len; i++) {
        char hex[8];
        const char *escape = mkv_json_escape_byte((unsigned char)text[i], hex);
        if (escape) fputs(escape, out);
        else fputc(text[i], out);
    }
    fputc('"', out);
}
