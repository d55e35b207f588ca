#!/usr/bin/env python3
"""Writes src/tokenizer/unicode_tables.c: the Unicode data NFC normalization
needs (canonical combining classes, full canonical decompositions, primary
composites, and the code points that can change under NFC). Run from the
repository root:

    python3 src/tokenizer/make_unicode_tables.py

HF `tokenizers` normalizes with the unicode-normalization-alignments crate,
whose data is Unicode 9.0: a mark encoded later (U+07FD, Unicode 11) has no
combining class there, so NFC does not reorder it. For parity the tables are
Python's `unicodedata`, restricted to what HF's NFC/NFD actually do (probed
with the `tokenizers` package): a combining class only for marks HF reorders,
decompositions as HF's NFD gives them, compositions HF's NFC makes. Without
`tokenizers` the tables are plain Python data (--no-probe)."""
import os
import sys
import unicodedata as ud

HANGUL_S0, HANGUL_SN = 0xAC00, 11172
REGEX_PROPERTIES = ["L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "Mn", "Mc", "N", "Nd", "P", "S"]
MAX_CP = 0x110000


def is_hangul_syllable(cp):
    return HANGUL_S0 <= cp < HANGUL_S0 + HANGUL_SN


def canonical_decomposition(cp):
    d = ud.decomposition(chr(cp))
    if not d or d.startswith("<"):
        return None
    return [int(x, 16) for x in d.split()]


def full_decomposition(cp):
    d = canonical_decomposition(cp)
    if d is None:
        return [cp]
    out = []
    for c in d:
        out += full_decomposition(c)
    return out


def ranges(pred):
    out = []
    start = None
    for cp in range(MAX_CP + 1):
        v = pred(cp) if cp < MAX_CP else None
        if start is not None and v != cur:
            if cur:
                out.append((start, cp - 1, cur))
            start = None
        if start is None and v:
            start, cur = cp, v
    return out


def python_nfc(texts):
    return [ud.normalize("NFC", t) for t in texts]


def python_nfd(texts):
    return [ud.normalize("NFD", t) for t in texts]


def hf_normalizer(kind):
    from tokenizers import normalizers
    n = normalizers.NFC() if kind == "NFC" else normalizers.NFD()

    def run(texts):  # one call for many texts: NUL (a starter) keeps them apart
        out = n.normalize_str("\0".join(texts)).split("\0")
        assert len(out) == len(texts)
        return out
    return run


def main():
    probe = "--no-probe" not in sys.argv
    nfc, nfd = (hf_normalizer("NFC"), hf_normalizer("NFD")) if probe else (python_nfc, python_nfd)
    cps = [cp for cp in range(1, MAX_CP) if not 0xD800 <= cp <= 0xDFFF]  # NUL separates the probes

    # Combining classes: a mark counts when the normalizer moves it before U+0345 (ccc 240).
    marks = [cp for cp in cps if 0 < ud.combining(chr(cp)) < 240]
    moved = nfd(["\u0345" + chr(cp) for cp in marks])
    known = {cp for cp, r in zip(marks, moved) if r == chr(cp) + "\u0345"}
    known |= {cp for cp in cps if ud.combining(chr(cp)) >= 240}
    ccc_of = {cp: ud.combining(chr(cp)) for cp in known}
    ccc = lambda cp: ccc_of.get(cp, 0)
    ccc_ranges = ranges(ccc)

    candidates = [cp for cp in cps if not is_hangul_syllable(cp) and canonical_decomposition(cp) is not None]
    decomposed = nfd([chr(cp) for cp in candidates])
    decomp = [(cp, [ord(c) for c in d]) for cp, d in zip(candidates, decomposed) if d != chr(cp)]

    pairs = []
    for cp in candidates:
        d = canonical_decomposition(cp)
        if len(d) == 2 and ud.normalize("NFC", chr(d[0]) + chr(d[1])) == chr(cp):  # a primary composite
            pairs.append((d[0], d[1], cp))
    composed = nfc([chr(a) + chr(b) for a, b, _ in pairs])
    comp = sorted((a, b, c) for (a, b, c), r in zip(pairs, composed) if r == chr(c))
    seconds = {b for _, b, _ in comp}
    changed = {cp for cp, r in zip(cps, nfc([chr(cp) for cp in cps])) if r != chr(cp)}

    def maybe(cp):
        if 0xD800 <= cp <= 0xDFFF:
            return 0
        if ccc(cp) or cp in seconds or cp in changed:
            return 1
        if 0x1161 <= cp <= 0x1175 or 0x11A8 <= cp <= 0x11C2:  # Hangul V and T jamo
            return 1
        return 0

    maybe_ranges = ranges(maybe)

    # Regex classes: HF runs its pre-tokenizer regexes with Oniguruma, whose
    # Unicode data is newer than PCRE2's (Debian's 10.42: Unicode 14, the same
    # as Python's here). The code points Oniguruma puts in a class and Python
    # does not are written out, to be added to the class in the pattern.
    extras = []
    if probe:
        from tokenizers import Regex, pre_tokenizers
        text = "".join(chr(cp) for cp in cps)
        for prop in REGEX_PROPERTIES:
            split = pre_tokenizers.Split(Regex("\\p{%s}" % prop), behavior="removed")
            kept = set()
            for piece, _ in split.pre_tokenize_str(text):
                kept.update(ord(ch) for ch in piece)
            onig = set(cps) - kept
            python = {cp for cp in cps if ud.category(chr(cp)).startswith(prop)}
            if python - onig:  # a code point left the category: a union cannot express that
                print(f"\\p{{{prop}}}: {len(python - onig)} code points left the category; not adjusted",
                      file=sys.stderr)
                continue
            extra = sorted(onig - python)
            spans = []
            for cp in extra:
                if spans and spans[-1][1] == cp - 1:
                    spans[-1][1] = cp
                else:
                    spans.append([cp, cp])
            # C source text: "\\x{1C89}-\\x{1C8A}" is the PCRE2 class text \x{1C89}-\x{1C8A}
            extras.append((prop, "".join(f"\\\\x{{{a:X}}}" if a == b else f"\\\\x{{{a:X}}}-\\\\x{{{b:X}}}"
                                         for a, b in spans)))

    pool = []
    rows = []
    for cp, seq in decomp:
        rows.append((cp, len(pool), len(seq)))
        pool += seq
    assert len(pool) < 65536 and max(len(s) for _, s in decomp) < 256

    out = []
    w = out.append
    w("/* Generated by src/tokenizer/make_unicode_tables.py from Python's unicodedata")
    w(f" * (Unicode {ud.unidata_version})" + (", restricted to what HF tokenizers' NFC does" if probe else "") + ". Do not edit. */")
    w('#include "tokenizer/unicode_tables.h"')
    w("")
    w(f"const mkv_uc_range mkv_uc_ccc[{len(ccc_ranges)}] = {{")
    for a, b, v in ccc_ranges:
        w(f"    {{0x{a:X}, 0x{b:X}, {v}}},")
    w("};")
    w(f"const int mkv_uc_ccc_count = {len(ccc_ranges)};")
    w("")
    w(f"const mkv_uc_range mkv_uc_nfc_maybe[{len(maybe_ranges)}] = {{")
    for a, b, v in maybe_ranges:
        w(f"    {{0x{a:X}, 0x{b:X}, 1}},")
    w("};")
    w(f"const int mkv_uc_nfc_maybe_count = {len(maybe_ranges)};")
    w("")
    w(f"const mkv_uc_decomp mkv_uc_decomps[{len(rows)}] = {{")
    line = "   "
    for cp, off, n in rows:
        item = f" {{0x{cp:X}, {off}, {n}}},"
        if len(line) + len(item) > 110:
            w(line)
            line = "   "
        line += item
    w(line)
    w("};")
    w(f"const int mkv_uc_decomp_count = {len(rows)};")
    w(f"const uint32_t mkv_uc_decomp_pool[{len(pool)}] = {{")
    line = "   "
    for cp in pool:
        item = f" 0x{cp:X},"
        if len(line) + len(item) > 110:
            w(line)
            line = "   "
        line += item
    w(line)
    w("};")
    w("")
    w(f"const mkv_uc_class_extra mkv_uc_regex_extras[{max(len(extras), 1)}] = {{")
    for prop, ranges_text in extras:
        w(f'    {{"{prop}", "{ranges_text}"}},')
    if not extras:
        w('    {"", ""},')
    w("};")
    w(f"const int mkv_uc_regex_extra_count = {len(extras)};")
    w("")
    w(f"const mkv_uc_comp mkv_uc_comps[{len(comp)}] = {{")
    line = "   "
    for a, b, c in comp:
        item = f" {{0x{a:X}, 0x{b:X}, 0x{c:X}}},"
        if len(line) + len(item) > 110:
            w(line)
            line = "   "
        line += item
    w(line)
    w("};")
    w(f"const int mkv_uc_comp_count = {len(comp)};")
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "unicode_tables.c")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    print(f"{path}: {len(ccc_ranges)} ccc ranges, {len(maybe_ranges)} NFC-maybe ranges, "
          f"{len(rows)} decompositions ({len(pool)} code points), {len(comp)} compositions", file=sys.stderr)


if __name__ == "__main__":
    main()
