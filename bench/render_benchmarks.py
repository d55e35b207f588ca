#!/usr/bin/env python3
"""Renders the measured results (bench/results/) into BENCHMARKS.md and the
paper-style Fig. 4 plots (bench/plots/).

    python3 bench/render_benchmarks.py [--results bench/results] [--doc BENCHMARKS.md] [--plots bench/plots]

BENCHMARKS.md keeps its prose; only the blocks between
`<!-- BEGIN generated: NAME -->` and `<!-- END generated: NAME -->` are
replaced:
  generation  one table per thread count: every cache mode (and the PyTorch
              peers) at every prompt length
  goals       issue 7's goals computed from those rows (met or not, by how much)
  breakdown   where a step's time goes (projections, attention, Wo, FFN, LM
              head, cache policy, sampling), prefill and decode
  kernels     the kernel benchmark output (bench/results/kernels.txt)
Rows come from bench/results/generation.jsonl (written by bench/run_bench.py,
bench/bench_generate.py and bench/pytorch_generate.py); for the same engine,
mode, prompt, threads and gen-len the last row wins."""
import argparse
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from safe_write import write_text  # noqa: E402 (the project's atomic writer)

MODES = ["none", "prefix", "dllm", "maskkv", "pytorch-none", "pytorch-dllm-cache"]
MIB = 2 ** 20


def load_rows(path):
    rows = {}
    if not os.path.exists(path):
        return []
    with open(path) as fp:
        for line in fp:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            key = (r.get("engine", "maskkv"), r["mode"], r["prompt"], r["threads"], r.get("gen_len", 32))
            rows[key] = r
    return sorted(rows.values(), key=lambda r: (r["threads"], r["prompt"],
                                                 MODES.index(r["mode"]) if r["mode"] in MODES else 99))


def weights(r):
    """Weight bytes in memory: the resident pages of the model file when the
    row has them (an embedding table is only partly touched by a short
    prompt), else the whole file."""
    return r.get("weights_resident_bytes") or r["model_bytes"]


def fmt_rate(x):
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"


def generation_tables(rows):
    out = []
    for t in sorted({r["threads"] for r in rows}):
        out.append(f"\n**{t} thread{'s' if t > 1 else ''}**\n")
        out.append("| prompt | mode | tokens/s | prefill s | decode step s | total s | peak RSS MiB "
                   "| RSS - weights MiB | KV MiB (peak) | KV MiB (decode) | note |")
        out.append("|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            if r["threads"] != t:
                continue
            kv = "" if r.get("kv_bytes") is None else f"{r['kv_bytes'] / MIB:.1f}"
            kvd = "" if r.get("kv_bytes_decode") is None else f"{r['kv_bytes_decode'] / MIB:.1f}"
            note = r.get("note", "")
            if r.get("load_before") is not None and r["load_before"] > t + 1.5:
                note = (note + "; " if note else "") + f"load {r['load_before']:.1f} at start"
            out.append(f"| {r['prompt']} | {r['mode']} | {fmt_rate(r['tokens_per_second'])} | "
                       f"{r['prefill_seconds']:.2f} | {r['step_seconds']:.3f} | {r['total_seconds']:.1f} | "
                       f"{r['peak_rss_bytes'] / MIB:.0f} | {(r['peak_rss_bytes'] - weights(r)) / MIB:.0f} | "
                       f"{kv} | {kvd} | {note} |")
    return "\n".join(out) + "\n"


def find(rows, mode, prompt, threads):
    for r in rows:
        if r["mode"] == mode and r["prompt"] == prompt and r["threads"] == threads:
            return r
    return None


def goals(rows):
    out = ["| goal | threads | measured | status |", "|---|---|---|---|"]
    for t in sorted({r["threads"] for r in rows}):
        lengths = sorted({r["prompt"] for r in rows if r["threads"] == t})
        # decoding speed: the longest prompt with both none and maskkv
        both = [n for n in lengths if find(rows, "none", n, t) and find(rows, "maskkv", n, t)]
        if both:
            n = both[-1]
            none, mk = find(rows, "none", n, t), find(rows, "maskkv", n, t)
            step = none["step_seconds"] / mk["step_seconds"]
            e2e = mk["tokens_per_second"] / none["tokens_per_second"]
            status = "**met**" if step >= 31 else "not met"
            if step >= 60:
                status += " (aim 60x met)"
            out.append(f"| MaskKV B={mk.get('budget') or 256} decoding >= 31x `none` (aim 60x) | {t} | "
                       f"{n} tokens: decode step {none['step_seconds']:.3g} s vs {mk['step_seconds']:.3g} s = "
                       f"**{step:.0f}x**; end to end ({mk.get('gen_len', 32)} tokens incl. prefill) {e2e:.0f}x | "
                       f"{status} |")
        both = [n for n in lengths if find(rows, "dllm", n, t) and find(rows, "maskkv", n, t)]
        if both:
            n = both[-1]
            dl, mk = find(rows, "dllm", n, t), find(rows, "maskkv", n, t)
            a = dl["peak_rss_bytes"] - weights(dl)
            b = mk["peak_rss_bytes"] - weights(mk)
            red = 100 * (1 - b / a)
            status = "**met**" if red >= 65 else "not met"
            status += " (aim 80% met)" if red >= 80 else " (aim 80% not met)"
            out.append(f"| peak RSS >= 65% below `dllm`, weights apart (aim 80%) | {t} | {n} tokens: "
                       f"{b / MIB:.0f} vs {a / MIB:.0f} MiB = **{red:.1f}% lower**; KV store "
                       f"{mk['kv_bytes'] / MIB:.0f} vs {dl['kv_bytes'] / MIB:.0f} MiB | {status} |")
        for ours, peer, what in [("none", "pytorch-none", "no-cache step >= 2x PyTorch (official generate.py)"),
                                 ("dllm", "pytorch-dllm-cache", "`dllm` >= 2x dLLM-Cache's PyTorch")]:
            pairs = [n for n in lengths if find(rows, ours, n, t) and find(rows, peer, n, t)]
            if not pairs:
                continue
            cells = []
            worst = None
            for n in pairs:
                o, p = find(rows, ours, n, t), find(rows, peer, n, t)
                x = p["total_seconds"] / o["total_seconds"]
                cells.append(f"{n}: {x:.2f}x")
                worst = x if worst is None else min(worst, x)
            out.append(f"| {what} | {t} | whole generation, ours faster by {', '.join(cells)} | "
                       f"{'**met**' if worst >= 2 else 'not met'} |")
    return "\n".join(out) + "\n"


PARTS = [("qkv", "Q/K/V proj."), ("attention", "attention"), ("out_proj", "Wo"), ("ffn", "FFN"),
         ("lm_head", "LM head"), ("cache_policy", "cache policy")]


def breakdown(rows):
    out = ["| prompt | mode | threads | phase | seconds | " + " | ".join(p[1] for p in PARTS) + " | sampling |",
           "|---|---|---|---|---|" + "---|" * (len(PARTS) + 1)]
    longest = {}
    for r in rows:
        longest[r["threads"]] = max(longest.get(r["threads"], 0), r["prompt"])
    for r in rows:
        if r.get("engine", "maskkv") != "maskkv" or not r.get("time_prefill"):
            continue
        if r["prompt"] not in (longest[r["threads"]], 4096):
            continue
        for phase, key, secs in [("prefill", "time_prefill", r["prefill_seconds"]),
                                 ("per decode step", "time_decode", r["step_seconds"])]:
            parts = r[key]
            n = 1 if phase == "prefill" else max(r.get("decode_steps") or 0, 1)
            if phase != "prefill" and not r.get("decode_steps"):
                continue
            total = sum(parts[p] for p, _ in PARTS) / n
            samp = (r.get("time_sampling") or 0) / max(r.get("decode_steps", 0) + 1, 1)
            cells = " | ".join(f"{100 * parts[p] / n / total:.0f}%" if total > 0 else "" for p, _ in PARTS)
            out.append(f"| {r['prompt']} | {r['mode']} | {r['threads']} | {phase} | {secs:.3f} | {cells} | "
                       f"{samp:.3f} s |")
    return "\n".join(out) + "\n"


def replace_block(doc, name, body):
    begin, end = f"<!-- BEGIN generated: {name} -->", f"<!-- END generated: {name} -->"
    pat = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if not pat.search(doc):
        print(f"render_benchmarks: no '{begin}' block in the document; skipped", file=sys.stderr)
        return doc
    return pat.sub(lambda _: begin + "\n" + body.rstrip("\n") + "\n" + end, doc)


def plots(rows, outdir):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("render_benchmarks: matplotlib missing; no plots", file=sys.stderr)
        return []
    os.makedirs(outdir, exist_ok=True)
    styles = {"none": ("tab:gray", "o"), "prefix": ("tab:orange", "s"), "dllm": ("tab:blue", "^"),
              "maskkv": ("tab:red", "D"), "pytorch-none": ("black", "x"), "pytorch-dllm-cache": ("tab:purple", "+")}
    fig, axes = plt.subplots(1, 3, figsize=(15, 5.2))
    for mode, (color, marker) in styles.items():
        for t, ls in [(1, "-"), (2, "--")]:
            sel = sorted((r for r in rows if r["mode"] == mode and r["threads"] == t), key=lambda r: r["prompt"])
            if not sel:
                continue
            x = [r["prompt"] for r in sel]
            lab = f"{mode} ({t} thr)"
            axes[0].plot(x, [r["step_seconds"] for r in sel], ls, color=color, marker=marker, label=lab)
            axes[1].plot(x, [r["tokens_per_second"] for r in sel], ls, color=color, marker=marker, label=lab)
            axes[2].plot(x, [(r["peak_rss_bytes"] - weights(r)) / MIB for r in sel], ls, color=color,
                         marker=marker, label=lab)
    titles = ["decode step (s)", "tokens/s, whole generation", "peak RSS minus weights (MiB)"]
    for ax, title in zip(axes, titles):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("prompt tokens")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="lower center", ncol=6)
    fig.suptitle("maskkv vs prompt length (cf. MaskKV paper Fig. 4); solid 1 thread, dashed 2 threads")
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    path = os.path.join(outdir, "fig4_speed_memory.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", default="bench/results")
    ap.add_argument("--doc", default="BENCHMARKS.md")
    ap.add_argument("--plots", default="bench/plots")
    a = ap.parse_args()
    rows = load_rows(os.path.join(a.results, "generation.jsonl"))
    with open(a.doc) as fp:
        doc = fp.read()
    if rows:
        doc = replace_block(doc, "generation", generation_tables(rows))
        doc = replace_block(doc, "goals", goals(rows))
        doc = replace_block(doc, "breakdown", breakdown(rows))
    kpath = os.path.join(a.results, "kernels.txt")
    if os.path.exists(kpath):
        with open(kpath) as fp:
            doc = replace_block(doc, "kernels", "```\n" + fp.read().rstrip("\n") + "\n```\n")
    write_text(a.doc, doc)
    for p in plots(rows, a.plots):
        print(f"wrote {p}")
    print(f"wrote {a.doc} ({len(rows)} generation rows)")


if __name__ == "__main__":
    main()
