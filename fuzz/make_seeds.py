#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/) from
the small valid inputs of the test tree. Deterministic; needs only the Python
standard library plus `gguf` (to read the tiny models' metadata). The files
it writes are committed: CI and `make fuzz-replay` do not run this script.

    python3 fuzz/make_seeds.py

Inputs found by fuzzing (new coverage, regressions) are added to the same
directories by hand or by libFuzzer's -merge=1; this script only (re)writes
the files whose names start with "seed-"."""
import json
import math
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "fuzz" / "corpus"

# --------------------------------------------------------------- GGUF writer
U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
SCALAR = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f", BOOL: "<?", U64: "<Q", I64: "<q",
          F64: "<d"}
F32T, F16T, Q4_0, Q8_0, BF16T = 0, 1, 2, 8, 30


def gstr(b):
    if isinstance(b, str):
        b = b.encode()
    return struct.pack("<Q", len(b)) + b


def gvalue(t, v):
    if t == STR:
        return gstr(v)
    if t == ARR:
        et, items = v
        out = struct.pack("<IQ", et, len(items))
        for it in items:
            out += gvalue(et, it)
        return out
    return struct.pack(SCALAR[t], v)


def gguf(kvs, tensors, version=3, alignment=32):
    """kvs: [(key, type, value)]; tensors: [(name, ne list, ggml type, raw bytes)]."""
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs))
    for k, t, v in kvs:
        out += gstr(k) + struct.pack("<I", t) + gvalue(t, v)
    offset = 0
    offsets = []
    for name, ne, ttype, raw in tensors:
        offsets.append(offset)
        out += gstr(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<q", n) for n in ne)
        out += struct.pack("<IQ", ttype, offset)
        offset += len(raw)
        offset += (-offset) % alignment
    out += bytes((-len(out)) % alignment)
    data = b""
    for (name, ne, ttype, raw), off in zip(tensors, offsets):
        data += bytes(off - len(data)) + raw
    return out + data


def read_kvs(path):
    """The metadata of a GGUF file as [(key, type, value)], in file order."""
    import gguf as ggufpy

    reader = ggufpy.GGUFReader(str(path))
    kvs = []
    for key, field in reader.fields.items():
        if key.startswith("GGUF."):
            continue
        types = [int(t) for t in field.types]
        if types[0] == ARR:
            et = types[1]
            if et == STR:
                items = [bytes(field.parts[i]) for i in field.data]
            else:
                items = [field.parts[i][0].item() for i in field.data]
            kvs.append((key, ARR, (et, items)))
        elif types[0] == STR:
            kvs.append((key, STR, bytes(field.parts[field.data[0]])))
        else:
            kvs.append((key, types[0], field.parts[field.data[0]][0].item()))
    return kvs


def with_overrides(kvs, overrides, drop=()):
    out = []
    for k, t, v in kvs:
        if k in drop:
            continue
        if k in overrides:
            t, v = overrides[k]
        out.append((k, t, v))
    return out


def f32(n, seed=1.0):
    return b"".join(struct.pack("<f", seed + 0.01 * i) for i in range(n))


def f16(n):
    return b"".join(struct.pack("<e", 0.5 - 0.001 * i) for i in range(n))


def bf16(n):
    return b"".join(struct.pack("<f", 0.25 + 0.002 * i)[2:] for i in range(n))


def q8_0(n_blocks):
    return b"".join(struct.pack("<e", 0.01) + bytes((j * 7 + b) % 256 for j in range(32)) for b in range(n_blocks))


def q4_0(n_blocks):
    return b"".join(struct.pack("<e", 0.02) + bytes((j * 13 + b) % 256 for j in range(16)) for b in range(n_blocks))


def mini_model(src, arch, d, heads, kv_heads, ff, bias):
    """A 1-layer model with the tokenizer of `src` and tiny weights of mixed
    types: loads fully (hyper-parameters, special ids, weight binding)."""
    kvs = read_kvs(src)
    vocab = next(len(v[1]) for k, t, v in kvs if k == "tokenizer.ggml.tokens")
    hd = d // heads
    kvs = with_overrides(kvs, {
        f"{arch}.block_count": (U32, 1),
        f"{arch}.embedding_length": (U32, d),
        f"{arch}.feed_forward_length": (U32, ff),
        f"{arch}.attention.head_count": (U32, heads),
        f"{arch}.attention.head_count_kv": (U32, kv_heads),
        f"{arch}.rope.dimension_count": (U32, hd),
        f"{arch}.context_length": (U32, 64),
        f"{arch}.vocab_size": (U32, vocab),
    })
    if not any(k == f"{arch}.rope.dimension_count" for k, _, _ in kvs):
        kvs.append((f"{arch}.rope.dimension_count", U32, hd))
    t = [("token_embd.weight", [d, vocab], F16T, f16(d * vocab)),
         ("output_norm.weight", [d], F32T, f32(d)),
         ("output.weight", [d, vocab], BF16T, bf16(d * vocab)),
         ("blk.0.attn_norm.weight", [d], F32T, f32(d)),
         ("blk.0.attn_q.weight", [d, heads * hd], F32T, f32(d * heads * hd)),
         ("blk.0.attn_k.weight", [d, kv_heads * hd], F16T, f16(d * kv_heads * hd)),
         ("blk.0.attn_v.weight", [d, kv_heads * hd], BF16T, bf16(d * kv_heads * hd)),
         ("blk.0.attn_output.weight", [heads * hd, d], F32T, f32(heads * hd * d)),
         ("blk.0.ffn_norm.weight", [d], F32T, f32(d)),
         ("blk.0.ffn_gate.weight", [d, ff], F32T, f32(d * ff)),
         ("blk.0.ffn_up.weight", [d, ff], F16T, f16(d * ff)),
         ("blk.0.ffn_down.weight", [ff, d], F32T, f32(ff * d))]
    if bias:
        t += [("blk.0.attn_q.bias", [heads * hd], F32T, f32(heads * hd)),
              ("blk.0.attn_k.bias", [kv_heads * hd], F32T, f32(kv_heads * hd)),
              ("blk.0.attn_v.bias", [kv_heads * hd], F32T, f32(kv_heads * hd))]
    return gguf(kvs, t)


def every_type_gguf(version):
    kvs = [("general.architecture", STR, "llada"),
           ("general.alignment", U32, 64),
           ("k.u8", U8, 200), ("k.i8", I8, -5), ("k.u16", U16, 60000), ("k.i16", I16, -30000),
           ("k.u32", U32, 4000000000), ("k.i32", I32, -2000000000), ("k.f32", F32, 1.5), ("k.bool", BOOL, True),
           ("k.str", STR, "h\xe9llo"), ("k.u64", U64, 1 << 40), ("k.i64", I64, -(1 << 40)), ("k.f64", F64, 0.125),
           ("k.arr_i32", ARR, (I32, [7, -1, 42])), ("k.arr_str", ARR, (STR, ["a", "bc", ""])),
           ("k.arr_f32", ARR, (F32, [1.0, 2.0])), ("k.arr_empty", ARR, (U8, [])),
           ("k.arr_arr", ARR, (ARR, [(U16, [1, 2]), (STR, ["x"])]))]
    t = [("a", [4, 2], F32T, f32(8)), ("b", [32, 2], Q8_0, q8_0(2)), ("c", [32], Q4_0, q4_0(1)),
         ("d", [2, 3], F16T, f16(6)), ("e", [2, 1, 1, 3], BF16T, bf16(6))]
    return gguf(kvs, t, version=version, alignment=64)


# --------------------------------------------------------------- safetensors
def safetensors(entries, metadata=None):
    """entries: [(name, dtype, shape, raw)]."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    offset = 0
    for name, dtype, shape, raw in entries:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((-len(text)) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(raw for _, _, _, raw in entries)


# --------------------------------------------------------------- writing
def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (d / f"seed-{name}").write_bytes(data)


def argv(*args):
    return b"\0".join(a.encode() if isinstance(a, str) else a for a in args)


def main():
    models = ROOT / "tests" / "models"
    # gguf
    write("gguf", "llada-mini.gguf", mini_model(models / "llada-tiny-f32.gguf", "llada", 4, 2, 2, 4, False))
    write("gguf", "dream-mini.gguf", mini_model(models / "dream-tiny-f32.gguf", "dream", 4, 2, 1, 6, True))
    write("gguf", "every-type-v3.gguf", every_type_gguf(3))
    write("gguf", "every-type-v2.gguf", every_type_gguf(2))
    write("gguf", "empty-v3.gguf", gguf([], []))
    # safetensors
    write("safetensors", "mixed.safetensors", safetensors(
        [("model.embed_tokens.weight", "F32", [3, 4], f32(12)), ("model.norm.weight", "BF16", [4], bf16(4)),
         ("model.layers.0.self_attn.q_proj.weight", "F16", [2, 4], f16(8)), ("scalar", "F32", [], f32(1)),
         ("four.dims", "F16", [1, 2, 1, 2], f16(4))], {"format": "pt"}))
    write("safetensors", "empty.safetensors", safetensors([]))
    write("safetensors", "metadata-only.safetensors", safetensors([], {"format": "pt", "note": "x"}))
    llada_hf = (models / "llada-odd-bf16" / "model.safetensors").read_bytes()
    n = struct.unpack("<Q", llada_hf[:8])[0]
    hdr = json.loads(llada_hf[8:8 + n])
    small = [(k, v["dtype"], [min(s, 2) for s in v["shape"]]) for k, v in hdr.items() if k != "__metadata__"][:12]
    write("safetensors", "llada-names.safetensors", safetensors(
        [(k, dt, shape, (bf16 if dt == "BF16" else f16 if dt == "F16" else f32)(math.prod(shape)))
         for k, dt, shape in small]))
    # hf_config
    for d in ("llada-tiny", "dream-tiny", "llada-odd"):
        for f in ("config.json", "tokenizer_config.json", "generation_config.json", "special_tokens_map.json"):
            p = models / d / f
            if p.exists():
                write("hf_config", f"{d}-{f}", p.read_bytes())
    write("hf_config", "model-id-1", "GSAI-ML/LLaDA-8B-Instruct")
    write("hf_config", "model-id-2", "Dream-org/Dream-v0-Instruct-7B")
    write("hf_config", "model-id-3", "../models/llada-tiny-v1.5-Q8_0")
    # tokenizer_json
    write("tokenizer_json", "llada-odd.json", (models / "llada-odd" / "tokenizer.json").read_bytes())
    write("tokenizer_json", "dream-tiny.json", (models / "dream-tiny" / "tokenizer.json").read_bytes())
    write("tokenizer_json", "gpt2.json", (ROOT / "tests/data/tokenizer/gpt2/tokenizer.json").read_bytes())
    write("tokenizer_json", "minimal.json", json.dumps({
        "version": "1.0",
        "added_tokens": [{"id": 5, "content": "<s>", "single_word": False, "lstrip": True, "rstrip": False,
                          "normalized": False, "special": True}],
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "\\p{N}{1,3}| ?\\p{L}+|\\s+"}, "behavior": "Isolated",
             "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                                                   {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [5], "tokens": ["<s>"]}}},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": {"a": 0, "b": 1, "ab": 2, "\u0120": 3, "\u0120ab": 4}, "merges": [["a", "b"], ["\u0120", "ab"]]},
    }, indent=1))
    # tokenize: control byte (tokenizer, flags) + text
    corpus = (ROOT / "tests/data/tokenizer/corpus.bin").read_bytes()[12:]
    for i in range(16):
        chunk = corpus[i * 6000: i * 6000 + 300]
        write("tokenize", f"corpus-{i:02d}", bytes([i * 37 % 256]) + chunk)
    texts = ["Hello world", "<|startoftext|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
             "<|im_start|>user\nhi<|im_end|>\n", "caf\xe9 e\u0301 \u00c5 \ufb01 \u2163", "  \t\n\r\n x  ",
             "1234567890 3.14159 -42", "I'VE 'll 's 're", "\U0001f600\U0001f468\u200d\U0001f469"]
    for i, t in enumerate(texts):
        write("tokenize", f"text-{i}", bytes([(i * 5 + 4) % 256]) + t.encode())
    write("tokenize", "invalid-utf8", bytes([0x14]) + b"ok \xff\xfe \xc3 \xed\xa0\x80 \xf4\x90\x80\x80 end")
    write("tokenize", "nul-bytes", bytes([0x04]) + b"a\0b\0\0c")
    # chat: control byte (kind, system, arch) + user \0 system
    write("chat", "llada", bytes([0x01]) + b"  What is 2+2?\n")
    write("chat", "dream-system", bytes([0x06]) + b"Hi there\0You are terse.")
    write("chat", "llada-system", bytes([0x05]) + "\u3000 trim me \u2028\0  sys  ".encode())
    write("chat", "none", bytes([0x00]) + b"x")
    write("chat", "template-llada", bytes([0x11]) + b"{{ '<|start_header_id|>' + message['role'] }}")
    write("chat", "template-dream", bytes([0x22]) + b"{{'<|im_start|>' + message['role'] + '\\n'}}")
    write("chat", "specials", bytes([0x09]) + b"<|eot_id|><|mdm_mask|><|im_end|>\xff")
    # jinja: control byte (system, document, arch, bos, eos, generation prompt) + template \0 messages JSON
    msgs = json.dumps([{"role": "system", "content": " Be brief. "}, {"role": "user", "content": "Hi\n"},
                       {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "h\u00e9llo {{ x }}"}])
    for name in ("llada-odd", "dream-tiny"):
        tmpl = json.loads((ROOT / "tests" / "models" / name / "tokenizer_config.json").read_text())["chat_template"]
        write("jinja", f"{name}", bytes([0x38]) + tmpl.encode() + b"\0" + msgs.encode())
    templates = {
        "loop": "{% for m in messages %}[{{ loop.index }}/{{ loop.length }} {{ loop.revindex0 }}"
                "{{ 'F' if loop.first else 'f' }}]{{ m.role }}={{ m['content'] | trim | upper }}{% else %}none{% endfor %}",
        "namespace": "{% set ns = namespace(n=0) %}{% for m in messages if m.role != 'system' %}"
                     "{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}{{ messages | tojson }}{{ (messages | last).role }}",
        "slices": "{{ bos_token ~ messages[0].content[1:4] ~ messages[-1]['content'][::-1] ~ 'x' * 3 ~ 7 // 2 }}"
                  "{{ {'k': [1, 2] + [3]} }}{{ messages[0].get('nope', 'd') }}{{ 'ell' in messages[-1].content }}",
        "whitespace": "{%- for m in messages -%}\n  {{- m.role -}}\n  : {{ m.content }}\n{%- endfor %}\n"
                      "  {% if add_generation_prompt %}\n  gen\n  {% endif %}{# c #}{%+ if true %}p{% endif %}",
        "raise": "{% if messages[0].role != 'user' %}{{ raise_exception('user first') }}{% endif %}",
        "refused": "{% macro m(x) %}{{ x }}{% endmacro %}{{ m(1) }}",
        "unclosed": "{% for m in messages %}{{ m.content }",
    }
    for i, (name, tmpl) in enumerate(templates.items()):
        write("jinja", name, bytes([(i * 23 + 0x21) % 256]) + tmpl.encode() + b"\0" + msgs.encode())
    write("jinja", "bad-json", bytes([0x20]) + b"{{ messages | length }}\0[{\"role\": \"user\", \"content\": 3}]")
    write("jinja", "not-a-list", bytes([0x01]) + b"{{ messages[0].content }}\0{\"role\": \"user\"}")
    # profile
    prof = {"format": "maskkv-profile", "version": 1,
            "model": {"arch": "llada", "n_layers": 2, "d_model": 96, "n_heads": 3, "n_kv_heads": 3, "n_vocab": 384,
                      "fingerprint": "0123456789abcdef"},
            "layer_importance": [0.25, 0.5], "samples": 3}
    write("profile", "llada-tiny-other-fingerprint.json", json.dumps(prof, indent=2))
    p2 = dict(prof, version=2)
    write("profile", "version-2.json", json.dumps(p2))
    p3 = json.loads(json.dumps(prof))
    p3["model"].update(arch="dream", n_layers=3)
    p3["layer_importance"] = [1e-300, 0, 1e300]
    write("profile", "dream.json", json.dumps(p3))
    # fuzz/corpus/profile/calibrated-llada-tiny.json is the output of
    #   maskkv calibrate -m tests/models/llada-tiny-f32.gguf -f CALIB.txt -o ...
    # (its fingerprint matches the model the target checks against)
    # cli
    m = "tests/models/llada-tiny-f32.gguf"
    cases = [
        ("generate", "-m", m, "-p", "Hello there", "--gen-len", "8", "--block-len", "8", "--steps", "8", "--cache",
         "maskkv", "--budget", "2", "--json"),
        ("generate", "-m", m, "--ids", "3 4 5", "--gen-len", "16", "--block-len", "8", "--steps", "8", "--cache",
         "prefix", "--temp", "0.5", "--top-p", "0.9", "--top-k", "5", "--seed", "7", "--threads", "2", "--max-memory",
         "512M"),
        ("generate", "-m", m, "-f", "prompt.txt", "--chat", "--cache", "dllm", "--prompt-refresh", "10",
         "--response-refresh", "2", "--transfer-ratio", "0.5", "--alg", "entropy", "--alg-temp", "0.1", "--eps",
         "1e-3", "--no-eos", "--no-eot"),
        ("generate", "-m", m, "-p", "x", "--select", "snapkv", "--layer-alloc", "pyramid", "--head-alloc", "adakv",
         "--alpha", "0.2", "--beta", "0.5", "--window", "8", "--pool-kernel", "3", "--boundary-size", "1",
         "--profile", "p.json", "--cfg", "1.5", "--threshold", "0.9", "--remasking", "random"),
        ("forward", "-m", m, "--ids", "1,2,3", "--positions", "0,2", "--logits-out", "x.f32", "--check-weights"),
        ("tokenize", "-m", m, "-p", "Hello", "--bos", "--no-special"),
        ("detokenize", "-m", m, "--ids", "1 2 3", "--skip-special", "--raw"),
        ("info", "-m", m, "--json", "--check-weights"),
        ("calibrate", "-m", m, "-f", "calib.txt", "-o", "out.json", "--samples", "4", "--max-len", "64", "--gen-len",
         "8", "--chat"),
        ("convert", "-i", "tests/models/llada-tiny", "-o", "x.gguf", "--type", "q8_0"),
        ("eval", "-m", m, "--data", "tests/data/eval", "--task", "recall", "--lengths", "64,128", "--budgets",
         "2,4", "--samples", "1", "--methods", "full,snapkv", "--json", "--threads", "1", "--depths", "0.5"),
        ("generate", "--help"),
        ("generate", "-m", m, "-p", "Hi", "--gen-len", "-1", "--max-memory", "1.5G", "--budget", "99999999999"),
    ]
    for i, c in enumerate(cases):
        write("cli", f"{c[0]}-{i:02d}", argv(*c))
    # serve_request: control byte (bit 0 chat, bits 1-3 the max_tokens limit) + HTTP body
    bodies = [
        (0x0c, {"prompt": "The secret code of Alice is", "max_tokens": 8, "steps": 8, "block_length": 8}),
        (0x0d, {"model": "m", "messages": [{"role": "system", "content": "Be brief."},
                                           {"role": "user", "content": "Hi"}], "max_tokens": 16, "stream": True,
                "cache": "maskkv", "budget": 4, "temperature": 0.5, "top_p": 0.9, "top_k": 5, "seed": 7}),
        (0x0d, {"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text",
                                                                                        "text": "b"}]}],
                "max_completion_tokens": 8, "answer_prefix": "Sure: ", "remasking": "random", "alg": "entropy"}),
        (0x0c, {"prompt": [1, 2, 3], "max_tokens": 4, "block_length": 4, "cache": "dllm", "threshold": 0.9}),
        (0x0c, {"prompt": ["one"], "n": 1, "stop": None, "logprobs": False, "cfg": 0, "alg_temp": 0.1}),
        (0x0d, {"messages": [{"role": "developer", "content": "x"}, {"role": "user", "content": "y"},
                             {"role": "assistant", "content": "z"}]}),
    ]
    for i, (control, body) in enumerate(bodies):
        write("serve_request", f"body-{i}", bytes([control]) + json.dumps(body).encode())
    write("serve_request", "invalid-utf8", bytes([0x0c]) + b'{"prompt": "caf\xc3\x28 \xed\xa0\x80"}')
    write("serve_request", "escapes", bytes([0x0c]) + b'{"prompt": "\\u0000\\ud83d\\ude00\\n", "max_tokens": 1e3}')
    write("serve_request", "truncated", bytes([0x0d]) + b'{"messages": [{"role": "user", "content": "Hi"')


if __name__ == "__main__":
    main()
