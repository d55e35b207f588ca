#!/usr/bin/env python3
"""Plots and the EVAL.md table from `maskkv eval --out DIR` results.

    python3 tools/plot_eval.py DIR [--markdown EVAL_TABLE.md] [--metric "exact match"]

Writes DIR/accuracy_vs_budget.png (the paper's Fig. 3: accuracy against budget,
one line per method, one panel per task) and DIR/heatmap.png (the
paper's Fig. 8: prompt length x needle depth at the largest budget), and prints
a Markdown table (accuracy, and % of the full cache, per task, method, budget)."""
import argparse
import collections
import json
import os

from safe_write import write_text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--markdown")
    ap.add_argument("--metric", default="exact match",
                    help='how an answer was scored, for the labels ("codes match": the bare-prompt sets)')
    a = ap.parse_args()
    with open(os.path.join(a.dir, "results.json")) as fp:
        res = json.load(fp)
    cells = res["results"]
    agg = collections.defaultdict(lambda: [0, 0])   # (task, method, budget) -> correct, total
    heat = collections.defaultdict(lambda: [0, 0])  # (task, method, budget, length, depth)
    for c in cells:
        agg[(c["task"], c["method"], c["budget"])][0] += c["correct"]
        agg[(c["task"], c["method"], c["budget"])][1] += c["total"]
        heat[(c["task"], c["method"], c["budget"], c["length"], c["depth"])][0] += c["correct"]
        heat[(c["task"], c["method"], c["budget"], c["length"], c["depth"])][1] += c["total"]
    tasks = list(dict.fromkeys(c["task"] for c in cells))
    methods = list(dict.fromkeys(c["method"] for c in cells))
    budgets = sorted({c["budget"] for c in cells})
    lengths = sorted({c["length"] for c in cells})
    depths = sorted({c["depth"] for c in cells})

    def acc(key, table=agg):
        c, t = table[key]
        return 100.0 * c / t if t else float("nan")

    lines = []
    for task in tasks:
        lines.append(f"\n**{task}** — {a.metric} % (and % of the full cache), averaged over lengths {lengths}\n")
        lines.append("| method | " + " | ".join(f"B={b}" for b in budgets) + " |")
        lines.append("|---|" + "---|" * len(budgets))
        for m in methods:
            row = []
            for b in budgets:
                v, f = acc((task, m, b)), acc((task, "full", b))
                row.append(f"{v:.1f}" + (f" ({100 * v / f:.0f}%)" if f and f == f and f > 0 and m != "full" else ""))
            lines.append(f"| {m} | " + " | ".join(row) + " |")
    table = "\n".join(lines) + "\n"
    print(table)
    if a.markdown:
        write_text(a.markdown, table)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plots")
        return
    fig, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 4), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for m in methods:
            ax.plot(budgets, [acc((task, m, b)) for b in budgets], marker="o", label=m,
                    linestyle="--" if m == "full" else "-")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("budget B (prompt KV pairs per head)")
        ax.set_ylabel(f"{a.metric} %")
        ax.set_title(task)
        ax.set_ylim(-2, 102)
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(a.dir, "accuracy_vs_budget.png"), dpi=110)
    # the paper's Fig. 8: the needle task at the smallest budget
    b = budgets[0]
    heat_task = "niah" if "niah" in tasks else tasks[0]
    fig, axes = plt.subplots(1, len(methods), figsize=(2.6 * len(methods) + 1, 3.0), squeeze=False)
    for ax, m in zip(axes[0], methods):
        grid = [[acc((heat_task, m, b, L, d), heat) for L in lengths] for d in depths]
        im = ax.imshow(grid, vmin=0, vmax=100, cmap="RdYlGn", origin="lower", aspect="auto")
        ax.set_xticks(range(len(lengths)), [str(L) for L in lengths], fontsize=7)
        ax.set_yticks(range(len(depths)), [f"{d:g}" for d in depths], fontsize=7)
        ax.set_title(f"{m} (B={b})" if m != "full" else "full", fontsize=9)
        ax.set_xlabel("prompt length")
    axes[0][0].set_ylabel(f"{heat_task}: needle depth")
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8)
    fig.savefig(os.path.join(a.dir, "heatmap.png"), dpi=110)
    print(f"plots in {a.dir}")


if __name__ == "__main__":
    main()
