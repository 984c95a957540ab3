"""Lifter throughput against batch size and latency, on CPU (and CUDA when present).

Throughput is reported as poses/s, FLOP/s and as a fraction of this device's dense matmul
FLOP/s in the same number format, measured in the same run (benchmarks/_lifter_speed.py), for
fp32 and, where the hardware has it natively, bf16 (int8 on CPU). Writes
docs/lifter_throughput.json, docs/lifter_throughput.png and the "lifter throughput" section of
docs/BENCHMARKS.md.

Usage: .venv/bin/python benchmarks/lifter_throughput.py [--threads 2] [--device cpu|cuda|all]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _report import replace_section, this_run  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BATCHES = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536)


def _plot(results: dict) -> None:
    """docs/lifter_throughput.png: poses/s and the fraction of matmul against batch size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(10, 3.8))
    for dev, r in results.items():
        for prec, p in r["precisions"].items():
            b = [x["batch"] for x in p["throughput"]]
            ax[0].loglog(
                b, [x["poses_per_s"] for x in p["throughput"]], "o-", label=f"{dev} {prec}"
            )
            ax[1].semilogx(
                b,
                [100 * x["fraction_of_matmul"] for x in p["throughput"]],
                "o-",
                label=f"{dev} {prec}",
            )
    ax[0].set(
        xlabel="batch (people lifted at once)", ylabel="poses / s", title="lifter throughput"
    )
    ax[1].set(
        xlabel="batch",
        ylabel="% of measured matmul FLOP/s (same format)",
        title="efficiency",
        ylim=(0, 120),
    )
    ax[1].axhline(80, color="0.6", ls="--", lw=1)
    for a in ax:
        a.grid(True, which="both", alpha=0.3)
        a.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(ROOT, "docs", "lifter_throughput.png"), dpi=110)


def _markdown_lines(origin, results: dict) -> list:
    """The lines of the "lifter throughput" section of docs/BENCHMARKS.md."""
    lines = [f"{origin.header()}", ""]
    for dev, r in results.items():
        lines += [
            f"**{dev}** ({r['threads']} threads): {r['flops_per_pose'] / 1e6:.2f} MFLOP per pose; "
            f"lifting uses **{r['default_precision']}** by default here. Each number format is "
            "set against a dense matmul (4096x1024 @ 1024x1024) in the same format by PyTorch, "
            "measured in the same run, before and after the batch sweep (the faster counts).",
            "",
        ]
        for prec, p in r["precisions"].items():
            lines += [
                f"{dev}, {prec}: matmul {p['matmul_flops_per_s'] / 1e9:.1f} GFLOP/s.",
                "",
                "| batch | poses/s | GFLOP/s | of matmul |",
                "|---|---|---|---|",
            ]
            lines += [
                f"| {x['batch']} | {x['poses_per_s']:.0f} | {x['flops_per_s'] / 1e9:.1f} | "
                f"{100 * x['fraction_of_matmul']:.0f} % |"
                for x in p["throughput"]
            ]
            lines.append("")
        lines += [
            "| people | format | test-time mirror | lift (ms, median) "
            "| lift + root solve + scores (ms, median) |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {x['people']} | {prec} | {'on' if x.get('mirror_average', True) else 'off'} "
            f"| {x['lift_s'] * 1000:.2f} | {x['estimate_s'] * 1000:.2f} |"
            for prec, p in r["precisions"].items()
            for x in p["latency"]
        ]
        lines.append("")
    if "cuda" not in results:
        lines.append("CUDA: not measured here (no GPU on this machine).")
    lines.append("\n![lifter throughput](lifter_throughput.png)")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--device",
        choices=("cpu", "cuda", "all"),
        default="all",
        help="all (the default): the CPU, and CUDA when present",
    )
    args = ap.parse_args()
    origin = this_run(__file__)
    import torch

    import _lifter_speed

    cuda = torch.cuda.is_available()
    if args.device == "cuda" and not cuda:
        print("lifter_throughput.py: error: --device cuda: CUDA is not available", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    devices = {"all": ["cpu"] + (["cuda"] if cuda else []), "cpu": ["cpu"], "cuda": ["cuda"]}
    results = {d: _lifter_speed.run(d, BATCHES) for d in devices[args.device]}
    with open(os.path.join(ROOT, "docs", "lifter_throughput.json"), "w") as fh:
        json.dump(
            {**origin.record(), **results},
            fh,
            indent=1,
        )

    _plot(results)
    lines = _markdown_lines(origin, results)
    replace_section(
        os.path.join(ROOT, "docs", "BENCHMARKS.md"), "lifter-throughput", "\n".join(lines)
    )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
