#!/usr/bin/env python3
"""Chat prompts are what transformers' apply_chat_template renders.

1. Every model file in tests/models/ and models/ that carries a chat template
   (HF folders: tokenizer_config.json; GGUF: tokenizer.chat_template): the
   prompt `maskkv generate --messages FILE --print-prompt` prints for several
   conversations (one turn, system + turns, multi-turn with assistant answers,
   whitespace that `trim` strips, Unicode, Jinja-looking text, quotes) equals
   apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
   of the HF tokenizer (GGUF: the template read by gguf-py, rendered by
   transformers' render_jinja_template with the file's BOS/EOS texts).
   `--system TEXT` and `-p TEXT` give the same as the equivalent messages.
2. Adversarial templates (--chat-template-file) for each feature of the Jinja
   subset (loops with loop.*, for-else, loop filters, if/elif/else, filters,
   tests, string concatenation, slices, namespace, scoping of set, whitespace
   control, trim_blocks/lstrip_blocks, comments, raise_exception) render as
   transformers renders them, and a template that raises fails in both.
Needs transformers, jinja2 and gguf."""
import glob
import json
import os
import subprocess
import sys
import tempfile

try:
    import gguf
    import jinja2  # noqa: F401 (apply_chat_template needs it)
    from transformers import PreTrainedTokenizerFast, Qwen2Tokenizer
    from transformers.utils.chat_template_utils import render_jinja_template
except ImportError as e:
    print(f"needs transformers, jinja2 and gguf ({e})")
    sys.exit(77)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MASKKV = os.environ.get("MASKKV", os.path.join(ROOT, "build", "maskkv"))
TMP = tempfile.mkdtemp(prefix="mkv-chat-")
fails = []
n_checked = 0

CONVERSATIONS = [
    [{"role": "user", "content": "What is the secret code of Edith?"}],
    [{"role": "system", "content": "You answer in one word."}, {"role": "user", "content": "Hi"}],
    [{"role": "system", "content": "  Be brief.  "}, {"role": "user", "content": "Hello\n"},
     {"role": "assistant", "content": "Hi! How can I help?"}, {"role": "user", "content": "\tWhat is 2+2?\u3000"}],
    [{"role": "user", "content": "first"}, {"role": "assistant", "content": " second "},
     {"role": "user", "content": "h\u00e9llo \u4e16\u754c {{ x }} {% if %} 'q' \"dq\" \\ \x1c"}],
    [{"role": "assistant", "content": "I start."}, {"role": "user", "content": ""}],
]


def maskkv(args, check=True):
    r = subprocess.run([MASKKV] + args, capture_output=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"maskkv {' '.join(args)}: exit {r.returncode}: {r.stderr.decode(errors='replace')}")
    return r


def write(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def expect(label, got, want):
    global n_checked
    n_checked += 1
    if got != want:
        fails.append(f"{label}:\n  maskkv       {got!r}\n  transformers {want!r}")


def gguf_template(path):
    r = gguf.GGUFReader(path)
    field = r.fields.get("tokenizer.chat_template")
    if field is None:
        return None, None, None
    template = bytes(field.parts[field.data[0]]).decode("utf-8")
    tokens = r.fields["tokenizer.ggml.tokens"]

    def token(key):
        f = r.fields.get(key)
        if f is None:
            return None
        i = int(f.parts[f.data[0]][0])
        return bytes(tokens.parts[tokens.data[i]]).decode("utf-8")
    return template, token("tokenizer.ggml.bos_token_id"), token("tokenizer.ggml.eos_token_id")


def reference_renderer(model):
    """messages -> the prompt transformers renders for this model file."""
    if os.path.isdir(model):
        fast = os.path.exists(os.path.join(model, "tokenizer.json"))
        tok = (PreTrainedTokenizerFast if fast else Qwen2Tokenizer).from_pretrained(model)
        if not tok.chat_template:
            return None
        return lambda msgs: tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
    template, bos, eos = gguf_template(model)
    if template is None:
        return None
    special = {k: v for k, v in (("bos_token", bos), ("eos_token", eos)) if v is not None}
    return lambda msgs: render_jinja_template([msgs], chat_template=template, add_generation_prompt=True, **special)[0][0]


# ---------------------------------------------------------------- 1. model files
models = sorted(p for p in glob.glob(os.path.join(ROOT, "tests/models/*")) + glob.glob(os.path.join(ROOT, "models/*"))
                if p.endswith(".gguf") or os.path.exists(os.path.join(p, "tokenizer_config.json")))
n_models = 0
for model in models:
    rel = os.path.relpath(model, ROOT)
    render = reference_renderer(model)
    if render is None:
        continue
    n_models += 1
    for k, msgs in enumerate(CONVERSATIONS):
        path = write(f"conv{k}.json", json.dumps(msgs))
        got = maskkv(["generate", "-m", model, "--messages", path, "--print-prompt"]).stdout.decode("utf-8")
        expect(f"{rel} conversation {k}", got, render(msgs))
    got = maskkv(["generate", "-m", model, "--system", "Be brief.", "-p", " Hi ", "--print-prompt"]).stdout.decode()
    expect(f"{rel} --system -p", got, render([{"role": "system", "content": "Be brief."}, {"role": "user", "content": " Hi "}]))
if n_models < 4:
    fails.append(f"only {n_models} model files with a chat template found")

# ------------------------------------------------------ 2. adversarial templates
ADVERSARIAL = {
    "loop": "{% for m in messages %}[{{ loop.index }}/{{ loop.length }} {{ loop.index0 }} {{ loop.revindex }} "
            "{{ loop.revindex0 }} {{ 'F' if loop.first else 'f' }}{{ 'L' if loop.last else 'l' }}]{{ m.role }}={{ m['content'] }}"
            "{% endfor %}",
    "for_else_filter": "{% for m in messages if m.role == 'nobody' %}x{% else %}none{% endfor %}|"
                       "{% for m in messages if m.role != 'system' %}{{ loop.index }}:{{ m.role }} {% endfor %}",
    "if_elif": "{% for m in messages %}{% if m.role == 'system' %}S{% elif m.role == 'user' %}U{% elif m.role == "
               "'assistant' %}A{% else %}?{% endif %}{% endfor %}{% if add_generation_prompt %}<gen>{% endif %}",
    "filters": "{% for m in messages %}{{ m.content | trim | upper }}|{{ m.content | length }}|{{ m.role | lower }}|"
               "{{ m.content | tojson }}|{{ m.missing | default('dflt') }}|{{ '' | default('e', true) }}|"
               "{{ m.content | count }}|{{ (m.role | string) ~ '!' }}{% endfor %}{{ messages | length }}"
               "{{ messages | first | tojson }}{{ (messages | last).role }}{{ ['a', 'b', 'c'] | join('-') }}",
    "concat": "{{ bos_token + messages[0]['role'] + '\\n' ~ 1 ~ messages[-1].content[1:4] ~ messages[0].content[-2:] "
              "~ messages[0].content[:3] }}{{ 'x' * 3 }}{{ 7 // 2 }}{{ 7 % 3 }}{{ -7 // 2 }}{{ 2 + 3 * 4 }}{{ [1, 2] + [3] }}"
              "{{ {'k': 'v', 'n': 1} }}{{ 'y' if 'ell' in messages[-1].content else 'n' }}{{ 'q' not in 'abc' }}",
    "namespace_scope": "{% set ns = namespace(count=0, last='') %}{% set outer = 'O' %}{% for m in messages %}"
                       "{% set outer = 'I' %}{% set ns.count = ns.count + 1 %}{% set ns.last = m.role %}{% endfor %}"
                       "{{ ns.count }} {{ ns.last }} {{ outer }}",
    "tests_methods": "{% for m in messages %}{{ m.content is string }}{{ m.nothing is defined }}{{ m.nothing is undefined }}"
                     "{{ none is none }}{{ 3 is number }}{{ m is mapping }}{{ messages is sequence }}"
                     "{{ m.content.strip() }}|{{ m.content.lstrip() }}|{{ m.content.rstrip() }}|{{ m.role.startswith('us') }}"
                     "{{ m.role.endswith('em') }}{{ m.get('role') }}{{ m.get('nope', 'dflt') }}{{ m.content.upper() }}{% endfor %}",
    "whitespace": "{%- for m in messages -%}\n    {{- m.role -}}\n    :  {{ m.content }}  \n{%- endfor %}\n"
                  "  {% if true %}\n    kept line\n  {% endif %}\n{# a comment #}\nend {{- ' tight' }}   {%+ if true %}plus{% endif %}\n",
    "blocks_lines": "{% for m in messages %}\n  {% if m.role == 'user' %}\n<{{ m.content }}>\n  {% endif %}\n{% endfor %}\n"
                    "{% if add_generation_prompt %}\nassistant:\n{% endif %}\n",
    "raise_if": "{% for m in messages %}{% if m.role == 'assistant' and loop.first %}"
                "{{ raise_exception('Conversations must start with a user or system message') }}{% endif %}{{ m.content }}{% endfor %}",
}
llada_dir = os.path.join(ROOT, "tests/models/llada-tiny")
bos = PreTrainedTokenizerFast.from_pretrained(llada_dir).bos_token
for name, template in ADVERSARIAL.items():
    tpath = write(f"t_{name}.jinja", template)
    for k, msgs in enumerate(CONVERSATIONS):
        mpath = write(f"conv{k}.json", json.dumps(msgs))
        r = maskkv(["generate", "-m", llada_dir, "--messages", mpath, "--chat-template-file", tpath, "--print-prompt"],
                   check=False)
        try:
            want = render_jinja_template([msgs], chat_template=template, add_generation_prompt=True, bos_token=bos)[0][0]
        except jinja2.exceptions.TemplateError as e:
            want = None
            reason = str(e)
        global_label = f"template {name}, conversation {k}"
        if want is None:
            err = r.stderr.decode(errors="replace")
            ok = r.returncode == 6 and reason in err and err.count("\n") == 1
            n_checked += 1
            if not ok:
                fails.append(f"{global_label}: transformers raised {reason!r}; maskkv exit {r.returncode}: {err!r}")
        elif r.returncode != 0:
            fails.append(f"{global_label}: maskkv exit {r.returncode}: {r.stderr.decode(errors='replace')}")
        else:
            expect(global_label, r.stdout.decode("utf-8"), want)

if fails:
    print(f"{len(fails)} of {n_checked} prompts differ:")
    print("\n".join(fails[:20]))
    sys.exit(1)
print(f"{n_checked} prompts equal transformers' ({n_models} model files, {len(ADVERSARIAL)} adversarial templates)")
