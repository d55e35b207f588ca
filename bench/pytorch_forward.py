#!/usr/bin/env python3
"""The PyTorch peer of bench/bench_forward.c: the official LLaDA modeling code
(modeling_llada.py + configuration_llada.py from the HF checkpoint; pass the
folder holding a local copy, it is never committed) on the same HF checkpoint
directory, CPU, float32, same threads and lengths.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 bench/pytorch_forward.py \
        --code /path/to/llada_code MODEL_DIR --lengths 256,1024 --threads 1,2
"""
import argparse
import importlib.util
import json
import os
import sys
import time


def load_official(code_dir):
    # the official files import each other relatively: load them as a package
    pkg = "llada_official"
    spec = importlib.util.spec_from_file_location(pkg, os.path.join(code_dir, "__init__.py"),
                                                  submodule_search_locations=[code_dir])
    if not os.path.exists(os.path.join(code_dir, "__init__.py")):
        open(os.path.join(code_dir, "__init__.py"), "w").close()
    module = importlib.util.module_from_spec(spec)
    sys.modules[pkg] = module
    spec.loader.exec_module(module)
    cfg = importlib.import_module(pkg + ".configuration_llada")
    mdl = importlib.import_module(pkg + ".modeling_llada")
    return cfg, mdl


import importlib  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--code", required=True)
    ap.add_argument("--lengths", default="256,1024")
    ap.add_argument("--threads", default="1,2")
    a = ap.parse_args()
    import torch
    from safetensors.torch import load_file
    cfg_mod, mdl_mod = load_official(a.code)
    with open(os.path.join(a.model, "config.json")) as fp:
        config = cfg_mod.LLaDAConfig(**json.load(fp))
    model = mdl_mod.LLaDAModelLM(config, init_params=False)
    state = load_file(os.path.join(a.model, "model.safetensors"))
    model.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
    model.eval()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"pytorch {torch.__version__}, model {a.model}: {n_params / 1e6:.1f}M params")
    for n in [int(x) for x in a.lengths.split(",")]:
        ids = torch.tensor([[(i * 2654435761) % (config.vocab_size - 3) for i in range(n)]])
        for t in [int(x) for x in a.threads.split(",")]:
            torch.set_num_threads(t)
            with torch.no_grad():
                t0 = time.perf_counter()
                model(ids)
                dt = time.perf_counter() - t0
            print(f"n={n:<6d} threads={t}  {dt:.3f} s  {1e3 * dt / n:.3f} ms/token", flush=True)


if __name__ == "__main__":
    main()
