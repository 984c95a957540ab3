"""Which maintained runtime runs the lifting network on CPU: PyTorch or ONNX Runtime, side by side.

Issue 14 replaces the hand-written LiteRT flatbuffer graphs with a maintained runtime chosen by
measurement. In one run, on this machine, for the shipped checkpoint (batch norm folded):
  - PyTorch fp32, and int8 (hidden layers dynamically quantised, `model.quantize_hidden_int8`);
  - ONNX Runtime fp32 (`torch.onnx.export`), and int8 (`onnxruntime.quantization.quantize_dynamic`,
    per-channel weights, activations quantised at run time; the input and output layers stay
    fp32, as in PyTorch's int8);
each: one person and ten people (one thread, as the nodes lift), throughput at 1,024 and 4,096
people (all threads) against the fastest dense matmul measured in the same number format
(PyTorch's or ONNX Runtime's, 4096 x 1024 x 1024, each measured before and after), and
accuracy: MPJPE on 20,000 held-out Bandai frames (all of them when fewer; exact 2D, known K) and
its largest difference from PyTorch fp32. Needs onnxruntime and onnx (not project dependencies:
`pip install onnxruntime onnx`) and the Bandai cache or archive.
Writes docs/lifter_runtimes.json and the "lifter runtimes" section of docs/BENCHMARKS.md.

Usage: .venv/bin/python benchmarks/lifter_runtimes.py
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from typing import Callable, Dict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _report import replace_section, this_run  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from pose_lifting_core.codec import Codec  # noqa: E402
from pose_lifting_core.lifter import load_checkpoint  # noqa: E402
from pose_lifting_core.model import FusedInference, LinearModel, quantize_hidden_int8  # noqa: E402
from pose_lifting_core.skeleton import ROOT  # noqa: E402
from pose_lifting_core.tooling.data import synth  # noqa: E402
from pose_lifting_core.tooling.metrics import mpjpe_mm  # noqa: E402
from pose_lifting_core.tooling.train import TrainConfig, load_mocap  # noqa: E402


def median_s(fn: Callable[[], object], min_time: float = 0.3, reps: int = 400) -> float:
    """Median seconds per call after three warm-up calls."""
    for _ in range(3):
        fn()
    times, start = [], time.perf_counter()
    while len(times) < reps and (time.perf_counter() - start < min_time or len(times) < 5):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def onnx_session(
    model: torch.nn.Module, in_dim: int, threads: int, int8: bool, keep_ends_fp32: bool = True
):
    """An ONNX Runtime session for `model` (dynamic batch), int8-quantised when asked (the first
    and last layers kept fp32 unless keep_ends_fp32 is False)."""
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    buf = io.BytesIO()
    torch.onnx.export(
        model,
        torch.zeros(1, in_dim),
        buf,
        input_names=["x"],
        output_names=["y"],
        dynamic_axes={"x": {0: "n"}, "y": {0: "n"}},
        dynamo=False,
    )
    data = buf.getvalue()
    if int8:
        import tempfile

        import onnx

        with tempfile.TemporaryDirectory() as tmp:
            src, dst = os.path.join(tmp, "fp32.onnx"), os.path.join(tmp, "int8.onnx")
            with open(src, "wb") as fh:
                fh.write(data)
            graph = onnx.load(src).graph
            gemms = [n.name for n in graph.node if n.op_type in ("Gemm", "MatMul")]
            # the first and last layers stay fp32, as in PyTorch's int8 (quantize_hidden_int8)
            quantize_dynamic(
                src,
                dst,
                weight_type=QuantType.QInt8,
                per_channel=True,
                nodes_to_exclude=[gemms[0], gemms[-1]] if keep_ends_fp32 else [],
            )
            with open(dst, "rb") as fh:
                data = fh.read()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
    return lambda x: sess.run(None, {"x": x})[0]


def torch_fn(m: torch.nn.Module, n_threads: int) -> Callable:
    """A function running `m` on a numpy batch in PyTorch with `n_threads` threads."""

    def run(x):
        torch.set_num_threads(n_threads)
        with torch.inference_mode():
            return m(torch.from_numpy(x)).numpy()

    return run


def engines_of(fp32, int8, in_dim: int, threads: int) -> Dict[str, Dict[str, Callable]]:
    """{runtime and format: {"one": on one thread, "many": on `threads`}}."""
    return {
        "PyTorch fp32": {"one": torch_fn(fp32, 1), "many": torch_fn(fp32, threads)},
        "PyTorch int8": {"one": torch_fn(int8, 1), "many": torch_fn(int8, threads)},
        "ONNX Runtime fp32": {
            "one": onnx_session(fp32, in_dim, 1, False),
            "many": onnx_session(fp32, in_dim, threads, False),
        },
        "ONNX Runtime int8": {
            "one": onnx_session(fp32, in_dim, 1, True),
            "many": onnx_session(fp32, in_dim, threads, True),
        },
    }


class MatmulReferences:
    """Matmul references, 4096 x width -> width, in each format and runtime, all threads; `flops`
    holds each one's FLOP/s, the fastest of every `measure()`: on a shared machine a slow moment
    during one reference run would inflate the shares (measured before and after)."""

    def __init__(self, width: int, threads: int) -> None:
        from pose_lifting_core.model import quantize_linear_int8

        ref_layer = torch.nn.Sequential(torch.nn.Linear(width, width, bias=False)).eval()
        self.a = np.random.default_rng(0).standard_normal((4096, width)).astype(np.float32)
        self.ref_flops = 2 * 4096 * width * width
        self.fns = {
            ("fp32", "PyTorch"): torch_fn(ref_layer, threads),
            ("fp32", "ONNX Runtime"): onnx_session(ref_layer, width, threads, False),
            ("int8", "PyTorch"): torch_fn(quantize_linear_int8(ref_layer), threads),
            ("int8", "ONNX Runtime"): onnx_session(
                ref_layer, width, threads, True, keep_ends_fp32=False
            ),
        }
        self.flops: Dict[str, Dict[str, float]] = {"fp32": {}, "int8": {}}

    def measure(self) -> None:
        for (fmt, runtime), fn in self.fns.items():
            self.flops[fmt][runtime] = max(
                self.flops[fmt].get(runtime, 0.0), self.ref_flops / median_s(lambda: fn(self.a))
            )


def heldout_inputs(blob: dict, codec: Codec) -> tuple:
    """Accuracy data: up to 20,000 held-out Bandai frames, exact 2D, known K, as (network input,
    root-relative ground truth)."""
    data = load_mocap("bandai", TrainConfig())
    test = data.positions[data.splits(blob["train_config"].get("heldout_content", ()))["test"]]
    rng = np.random.default_rng(1234)
    views = synth.sample_views(
        test[rng.choice(len(test), min(20_000, len(test)), replace=False)].astype(np.float64),
        rng,
        synth.CAMERA_RANGES["train"],
    )
    x = codec.encode(views.keypoints, np.ones(views.keypoints.shape[:2]), views.K)
    gt = views.joints_cam - views.joints_cam[:, ROOT : ROOT + 1]
    return x, gt


def engine_rows(engines: Dict[str, Dict[str, Callable]], codec: Codec, x, gt) -> list:
    """Per engine: accuracy (and its difference from PyTorch fp32), latency of 1 and 10 people on
    one thread, throughput at batches of 1024 and 4096."""
    reference = codec.decode(engines["PyTorch fp32"]["many"](x))
    rng = np.random.default_rng(0)
    rows = []
    for name, fns in engines.items():
        fmt = name.split()[-1]
        out = codec.decode(
            np.concatenate([fns["many"](x[i : i + 4096]) for i in range(0, len(x), 4096)])
        )
        row = {
            "engine": name,
            "format": fmt,
            "mpjpe_mm": mpjpe_mm(out, gt),
            "max_joint_diff_from_pytorch_fp32_mm": float(np.abs(out - reference).max() * 1000),
            "mpjpe_diff_from_pytorch_fp32_mm": mpjpe_mm(out, gt) - mpjpe_mm(reference, gt),
        }
        for n in (1, 10):
            xb = x[rng.integers(0, len(x), n)]
            row[f"latency_{n}_ms"] = median_s(lambda: fns["one"](xb)) * 1000
        for n in (1024, 4096):
            xb = x[:n]
            row[f"poses_per_s_{n}"] = n / median_s(lambda: fns["many"](xb))
        rows.append(row)
    return rows


def markdown(origin, rows: list, matmul: dict, flops: int, threads: int, width: int) -> str:
    """The "lifter runtimes" section of docs/BENCHMARKS.md."""
    table = [
        "| runtime | one person (ms) | 10 people (ms) | poses/s at 1,024 | of matmul "
        "| poses/s at 4,096 | of matmul | MPJPE (mm) "
        "| vs PyTorch fp32: MPJPE / largest joint difference (mm) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        table.append(
            f"| {r['engine']} | {r['latency_1_ms']:.3f} | {r['latency_10_ms']:.3f} | "
            f"{r['poses_per_s_1024']:.0f} | {r['fraction_of_matmul_1024'] * 100:.0f} % | "
            f"{r['poses_per_s_4096']:.0f} | {r['fraction_of_matmul_4096'] * 100:.0f} % | "
            f"{r['mpjpe_mm']:.2f} | {r['mpjpe_diff_from_pytorch_fp32_mm']:+.3f} / "
            f"{r['max_joint_diff_from_pytorch_fp32_mm']:.2f} |"
        )
    refs = "; ".join(
        f"{fmt}: " + ", ".join(f"{k} {v / 1e9:.1f}" for k, v in d.items())
        for fmt, d in matmul.items()
    )
    return (
        f"{origin.header()}\n\n"
        f"The shipped network ({flops / 1e6:.2f} MFLOP per pose), batch norm folded. Latency: one "
        "thread, median of repeated calls on the network input (encoding and decoding excluded). "
        f"Throughput: {threads} threads, against the fastest dense matmul (4096 x {width} x "
        f"{width}) measured in the same format in this run, GFLOP/s: {refs}. Accuracy: held-out "
        "Bandai frames, exact 2D, known K (the whole test split at 10 fps: 13,986 frames).\n\n"
        + "\n".join(table)
        + "\n"
    )


def main() -> int:
    origin = this_run(__file__)
    torch.set_num_threads(os.cpu_count() or 1)
    threads = torch.get_num_threads()
    blob = load_checkpoint(os.path.join("pose_lifting_core", "weights", "lifter.pt"))
    model = LinearModel.from_hparams(blob["hparams"])
    model.load_state_dict(blob["state_dict"])
    codec = Codec.from_dict(blob["codec"])
    fp32 = FusedInference(model.eval()).eval()
    int8 = quantize_hidden_int8(FusedInference(model.eval()).eval())
    in_dim, width = codec.in_dim, blob["hparams"]["width"]
    flops = sum(
        2 * m.in_features * m.out_features
        for m in fp32.modules()
        if isinstance(m, torch.nn.Linear)
    )
    engines = engines_of(fp32, int8, in_dim, threads)
    references = MatmulReferences(width, threads)
    references.measure()
    x, gt = heldout_inputs(blob, codec)
    rows = engine_rows(engines, codec, x, gt)
    references.measure()
    matmul = references.flops
    for row in rows:
        best = max(matmul[row["format"]].values())
        for n in (1024, 4096):
            row[f"fraction_of_matmul_{n}"] = row[f"poses_per_s_{n}"] * flops / best
    doc = {
        **origin.record(),
        "threads": threads,
        "flops_per_pose": flops,
        "matmul_flops_per_s": matmul,
        "rows": rows,
    }
    with open(os.path.join("docs", "lifter_runtimes.json"), "w") as fh:
        json.dump(doc, fh, indent=1)
    body = markdown(origin, rows, matmul, flops, threads, width)
    replace_section(os.path.join("docs", "BENCHMARKS.md"), "lifter-runtimes", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
