#!/usr/bin/env python3
"""The PyTorch peer row of bench/bench_generate.py: the same generation run
through the official PyTorch code on CPU, float32, on the same HF checkpoint
directory, threads and prompt.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 bench/pytorch_generate.py \
        --code LLADA_CODE_DIR [--dllm-cache DLLM_CACHE_DIR] MODEL_DIR --lengths 256,1024 --threads 1 \
        [--gen-len 32] [--modes none,dllm] [--max-steps-none 2] [--none-full-until 4096] [--out results.jsonl]

Modes (the third-party code is loaded at run time from the folders given; it
is never committed here):
  none  -> "pytorch-none": generate() from LLaDA's GitHub generate.py
          (ML-GSAI/LLaDA) with modeling_llada.py + configuration_llada.py from
          the HF checkpoint, all in --code. No cache: every step is a full
          forward over prompt + generation.
  dllm  -> "pytorch-dllm-cache": dLLM-Cache (github maomaocun/dLLM-cache, folder
          of its checkout given by --dllm-cache, holding dllm_cache/ and
          utils/generate_function.py) on the same official modeling code, set
          up as its demo_LLaDA.py does: dLLMCache.new_instance(
          prompt_interval_steps=Kp, gen_interval_steps=Kr, transfer_ratio=rho),
          register_cache_LLaDA(model, "model.transformer.blocks"), then its own
          utils.generate. Kp = 50, Kr = 5, rho = 0.25 (our SPEC defaults, the
          engine's --prompt-refresh / --response-refresh / --transfer-ratio;
          change with --prompt-refresh etc.). The hook always recomputes layer 0.
          Nothing is monkeypatched: on CPU its only CUDA call,
          torch.cuda.empty_cache() in reset_cache(), is a no-op.

Settings as bench/bench_generate.py: prompt ids (i * 2654435761) % (vocab - 8) + 3,
gen_len G, block_len = steps = G, temperature 0, low_confidence remasking, no
chat template, no attention mask, mask id = config.json's mask_token_id. The
official code never bans EOS (our engine's --no-eos); with these settings that
matters only if EOS would be chosen.

Each (length, mode, threads) runs in a fresh subprocess. Times come from a
forward pre-hook on the model: step k lasts from the start of forward k to the
start of forward k + 1 (the last one to the return of generate), so a step
includes its sampling. prefill_seconds = step 1; step_seconds = mean of steps
2.. (step 1 when only one step ran); total_seconds = the whole generate() call.
For `none` above --none-full-until tokens only --max-steps-none steps of the
real G-step schedule run (the next forward is aborted) and total_seconds =
prefill + step * (G - 1), marked in "note". peak_rss_bytes is the process's
peak RSS during generate() (VmHWM, reset after loading the weights so the
transient copy of the load does not count; weights stay resident and are
included, as in the engine's figure); falls back to ru_maxrss where the
reset is impossible. kv_bytes: pytorch-none holds no cache (0); for dLLM-Cache
it is the bytes of the tensors its cache holds at the end (K, V, attention and
MLP outputs of every layer, prompt and response, counted once per storage).
The JSON line has bench_generate.py's keys with engine = "pytorch"."""
import argparse
import datetime
import importlib
import importlib.util
import json
import os
import resource
import subprocess
import sys
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_generate import HEADER, markdown_row  # noqa: E402  (the same table as our rows)


def prompt_ids(n, vocab):
    return [(i * 2654435761) % (vocab - 8) + 3 for i in range(n)]


def load_official(code_dir):
    # the official files import each other relatively: load them as a package
    # (a namespace-like module over code_dir, so nothing is written there)
    pkg = "llada_official"
    module = types.ModuleType(pkg)
    module.__path__ = [os.path.abspath(code_dir)]
    sys.modules[pkg] = module
    cfg = importlib.import_module(pkg + ".configuration_llada")
    mdl = importlib.import_module(pkg + ".modeling_llada")
    return cfg, mdl


def load_generate_py(code_dir):
    spec = importlib.util.spec_from_file_location("llada_official_generate", os.path.join(code_dir, "generate.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_dllm_cache(root):
    sys.path.insert(0, os.path.abspath(root))
    cache = importlib.import_module("dllm_cache.cache")
    hooks = importlib.import_module("dllm_cache.hooks")
    # its utils/__init__.py only re-exports generate; load the file under a unique name
    spec = importlib.util.spec_from_file_location("dllm_cache_generate_function",
                                                  os.path.join(root, "utils", "generate_function.py"))
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    return cache, hooks, gen


def reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as fp:
            fp.write("5")
        return True
    except OSError:
        return False


def peak_rss(reset_ok):
    if reset_ok:
        with open("/proc/self/status") as fp:
            for line in fp:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def tensor_bytes(obj):
    """(bytes of the distinct storages, bytes of the K/V tensors) of the tensors in nested dicts."""
    import torch
    seen, total, kv = set(), 0, 0

    def walk(o, key=None):
        nonlocal total, kv
        if isinstance(o, torch.Tensor):
            st = o.untyped_storage()
            if st.data_ptr() not in seen:
                seen.add(st.data_ptr())
                total += st.nbytes()
            if key in ("k", "v"):
                kv += o.numel() * o.element_size()
        elif isinstance(o, dict):
            for k, v in o.items():
                walk(v, k)

    walk(obj)
    return total, kv


class StopGeneration(Exception):
    pass


def child(a):
    """One configuration in this process; prints one JSON object."""
    import torch
    from safetensors.torch import load_file
    torch.set_num_threads(a.threads)
    cfg_mod, mdl_mod = load_official(a.code)
    with open(os.path.join(a.model, "config.json")) as fp:
        raw = json.load(fp)
    config = cfg_mod.LLaDAConfig(**raw)
    mask_id = raw.get("mask_token_id", 126336)
    with torch.device("meta"):  # no throw-away initialisation: the weights are assigned below
        model = mdl_mod.LLaDAModelLM(config, init_params=False)
    state = load_file(os.path.join(a.model, "model.safetensors"))
    missing, unexpected = model.load_state_dict({k: v.float() for k, v in state.items()}, strict=False, assign=True)
    if missing or unexpected:
        sys.exit(f"pytorch_generate: weights do not match the model: missing {missing[:4]}, unexpected {unexpected[:4]}")
    for name, t in list(model.named_parameters()) + list(model.named_buffers()):
        if t.is_meta:
            sys.exit(f"pytorch_generate: {name} has no weights")
    del state
    model.eval()
    model_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    G, n = a.gen_len, a.prompt
    prompt = torch.tensor([prompt_ids(n, config.vocab_size)])

    max_steps, note = G, ""
    if a.mode == "none" and n > a.none_full_until and a.max_steps_none < G:
        max_steps = a.max_steps_none
        note = f"{max_steps} steps timed, extrapolated"
    starts = []

    def pre_hook(module, args, kwargs=None):
        if len(starts) == max_steps:
            raise StopGeneration
        starts.append(time.perf_counter())

    model.register_forward_pre_hook(pre_hook)

    if a.mode == "none":
        gen_mod = load_generate_py(a.code)
        run = lambda: gen_mod.generate(model, prompt, None, steps=G, gen_length=G, block_length=G,  # noqa: E731
                                       temperature=0., cfg_scale=0., remasking="low_confidence",
                                       mask_id=mask_id)[:, n:]
    else:
        import dataclasses
        cache_mod, hooks_mod, gen_mod = load_dllm_cache(a.dllm_cache)
        cache_mod.dLLMCache.new_instance(**dataclasses.asdict(cache_mod.dLLMCacheConfig(
            prompt_interval_steps=a.prompt_refresh, gen_interval_steps=a.response_refresh,
            transfer_ratio=a.transfer_ratio)))
        hooks_mod.register_cache_LLaDA(model, "model.transformer.blocks")
        run = lambda: gen_mod.generate(prompt, None, model, steps=G, gen_length=G, block_length=G,  # noqa: E731
                                       temperature=0., cfg_scale=0., remasking="low_confidence",
                                       mask_id=mask_id)

    import gc
    gc.collect()
    try:  # hand freed heap back so that the peak below is generation's, not loading's
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    reset_ok = reset_peak_rss()
    tokens = None
    with torch.no_grad():
        t0 = time.perf_counter()
        try:
            tokens = run()[0].tolist()
        except StopGeneration:
            pass
        t1 = time.perf_counter()
    rss = peak_rss(reset_ok)
    steps = [b - s for s, b in zip(starts, starts[1:] + [t1])]
    prefill = steps[0]
    step_s = sum(steps[1:]) / (len(steps) - 1) if len(steps) > 1 else steps[0]
    total = prefill + step_s * (G - 1) if note else t1 - t0
    kv_bytes, kv_kv = 0, 0
    if a.mode == "dllm":
        kv_bytes, kv_kv = tensor_bytes(getattr(cache_mod.dLLMCache(), "_dLLMCache__cache"))
        note = f"dLLM-Cache Kp={a.prompt_refresh} Kr={a.response_refresh} rho={a.transfer_ratio}; " \
               f"KV = K,V {kv_kv / 2**20:.1f} MiB + attn/MLP outputs"
    if not reset_ok:
        note = (note + "; " if note else "") + "peak RSS includes loading"
    row = dict(prompt=n, mode="pytorch-none" if a.mode == "none" else "pytorch-dllm-cache", threads=a.threads,
               gen_len=G, budget=None, tokens_per_second=G / total, prefill_seconds=prefill, step_seconds=step_s,
               total_seconds=total, peak_rss_bytes=rss, kv_bytes=kv_bytes,
               kv_bytes_decode=kv_bytes if a.mode == "dllm" else None, model_bytes=model_bytes,
               time_prefill=None, time_decode=None, time_sampling=None, decode_steps=len(steps) - 1, note=note)
    print(json.dumps(dict(row=row, tokens=tokens, torch=torch.__version__)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--code", required=True, help="folder with the official generate.py, modeling_llada.py, "
                                                  "configuration_llada.py")
    ap.add_argument("--dllm-cache", help="dLLM-Cache checkout (holds dllm_cache/ and utils/)")
    ap.add_argument("--lengths", default="256,1024")
    ap.add_argument("--threads", default="1")
    ap.add_argument("--gen-len", type=int, default=32)
    ap.add_argument("--modes", default="none,dllm")
    ap.add_argument("--max-steps-none", type=int, default=2)
    ap.add_argument("--none-full-until", type=int, default=4096,
                    help="none: longer prompts time only --max-steps-none steps (0: at every length)")
    ap.add_argument("--prompt-refresh", type=int, default=50)
    ap.add_argument("--response-refresh", type=int, default=5)
    ap.add_argument("--transfer-ratio", type=float, default=0.25)
    ap.add_argument("--show-tokens", type=int, default=8, help="how many generated ids to print per row")
    ap.add_argument("--out")
    ap.add_argument("--child-mode", help=argparse.SUPPRESS)
    ap.add_argument("--child-prompt", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child_mode:
        a.mode, a.prompt, a.threads = a.child_mode, a.child_prompt, int(a.threads)
        return child(a)
    modes = a.modes.split(",")
    for m in modes:
        if m not in ("none", "dllm"):
            sys.exit(f"pytorch_generate: unknown mode {m} (none, dllm)")
    if "dllm" in modes and not a.dllm_cache:
        sys.exit("pytorch_generate: mode dllm needs --dllm-cache DIR")
    out = open(a.out, "a") if a.out else None
    print(HEADER, flush=True)
    shown = []
    for n in [int(x) for x in a.lengths.split(",")]:
        for mode in modes:
            for t in [int(x) for x in a.threads.split(",")]:
                cmd = [sys.executable, os.path.abspath(__file__), a.model, "--code", a.code, "--gen-len",
                       str(a.gen_len), "--threads", str(t), "--max-steps-none", str(a.max_steps_none),
                       "--none-full-until", str(a.none_full_until), "--prompt-refresh", str(a.prompt_refresh),
                       "--response-refresh", str(a.response_refresh), "--transfer-ratio", str(a.transfer_ratio),
                       "--child-mode", mode, "--child-prompt", str(n)]
                if a.dllm_cache:
                    cmd += ["--dllm-cache", a.dllm_cache]
                load = os.getloadavg()[0]
                r = subprocess.run(cmd, capture_output=True, text=True)
                if r.returncode != 0:
                    sys.exit(f"pytorch_generate: {mode} n={n} threads={t}: {r.stderr.strip()}")
                res = json.loads(r.stdout.strip().splitlines()[-1])
                row = res["row"]
                row.update(load_before=round(load, 2), date=datetime.date.today().isoformat(), engine="pytorch")
                print(markdown_row(row), flush=True)
                toks = res["tokens"]
                shown.append(f"{row['mode']} n={n} threads={t} (torch {res['torch']}): " +
                             ("not all steps ran" if toks is None else
                              f"first {min(a.show_tokens, len(toks))} of {len(toks)} tokens "
                              f"{toks[:a.show_tokens]}"))
                if out:
                    out.write(json.dumps(row) + "\n")
                    out.flush()
    print()
    for s in shown:
        print(s)


if __name__ == "__main__":
    main()
