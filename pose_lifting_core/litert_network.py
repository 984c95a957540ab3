"""The lifting network run by LiteRT (XNNPACK) on CPU: the latency path for a few people.

Owns: writing a `FusedInference` network as an in-memory LiteRT model (one FULLY_CONNECTED op
per layer with its ReLU fused, one ADD per residual connection), optionally with the hidden
width x width layers' weights in int8 (symmetric, one scale per output channel; LiteRT quantises
the activations per person at run time, "dynamic range" quantisation), and running it on numpy
batches. The model is built from the checkpoint's weights each time a Lifter loads; no file.

Why it exists: right after the detector (BlazePose, itself run by LiteRT), PyTorch's code is out
of the CPU caches and each PyTorch op costs up to about 0.1 ms, so the PyTorch int8 network took
0.7-0.8 ms for one person there; this one takes about 0.2 ms (docs/BENCHMARKS.md, "after the
detector"). PyTorch keeps large batches, CUDA, bf16 and training.
"""
from __future__ import annotations

import threading
from typing import List, Tuple

import numpy as np

from pose_lifting_core.model import FusedInference


def litert_available() -> bool:
    """Whether LiteRT's interpreter, its model schema and flatbuffers can be imported."""
    try:
        import flatbuffers  # noqa: F401
        from ai_edge_litert import schema_py_generated  # noqa: F401
        from ai_edge_litert.interpreter import Interpreter  # noqa: F401
    except ImportError:
        return False
    return True


def _numpy_layers(model: FusedInference) -> Tuple[Tuple[np.ndarray, np.ndarray],
                                                   List[Tuple[Tuple[np.ndarray, np.ndarray], ...]],
                                                   Tuple[np.ndarray, np.ndarray]]:
    """(weight (out, in), bias (out,)) float32 of the input layer, of each block's two layers,
    and of the output layer."""
    def wb(layer) -> Tuple[np.ndarray, np.ndarray]:
        return (layer.weight.detach().float().cpu().numpy().copy(),
                layer.bias.detach().float().cpu().numpy().copy())
    return wb(model.inp), [(wb(l1), wb(l2)) for l1, l2 in model.blocks], wb(model.out)


def quantize_rows_int8(w: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Symmetric per-output-channel int8: w (out, in) float -> (q (out, in) int8, scale (out,)
    float32) with w ~= q * scale[:, None]. An all-zero row gets scale 1."""
    amax = np.abs(w).max(axis=1)
    scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(w / scale[:, None]), -127, 127).astype(np.int8)
    return q, scale


def to_flatbuffer(model: FusedInference, int8_hidden: bool) -> bytes:
    """The network as a LiteRT model (.tflite bytes) with input (N, in_dim) and output
    (N, out_dim), N resizable. int8_hidden: the hidden width x width layers in int8, as
    `model.quantize_hidden_int8` does for PyTorch; the input and output layers stay fp32."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as fb

    inp, blocks, out = _numpy_layers(model)
    buffers = [fb.BufferT()]        # buffer 0: no data (activations)
    tensors: List[object] = []
    ops: List[object] = []

    def tensor(shape, data: np.ndarray = None, ttype: int = fb.TensorType.FLOAT32, quant=None) -> int:
        t = fb.TensorT()
        t.shape, t.type, t.quantization, t.buffer = list(shape), ttype, quant, 0
        if data is not None:
            b = fb.BufferT()
            b.data = np.frombuffer(np.ascontiguousarray(data).tobytes(), np.uint8)
            buffers.append(b)
            t.buffer = len(buffers) - 1
        else:
            t.shapeSignature = [-1] + list(shape[1:])
        tensors.append(t)
        return len(tensors) - 1

    def operator(code: int, inputs: List[int], outputs: List[int], options_type: int, options) -> None:
        op = fb.OperatorT()
        op.opcodeIndex, op.inputs, op.outputs = code, inputs, outputs
        op.builtinOptionsType, op.builtinOptions = options_type, options
        ops.append(op)

    def fully_connected(x: int, w: np.ndarray, b: np.ndarray, relu: bool, int8: bool) -> int:
        if int8:
            q, scale = quantize_rows_int8(w)
            qp = fb.QuantizationParametersT()
            qp.scale, qp.zeroPoint, qp.quantizedDimension = scale.tolist(), [0] * len(scale), 0
            wt = tensor(w.shape, q, fb.TensorType.INT8, qp)
        else:
            wt = tensor(w.shape, w.astype(np.float32))
        bt = tensor(b.shape, b.astype(np.float32))
        y = tensor((1, w.shape[0]))
        opts = fb.FullyConnectedOptionsT()
        opts.fusedActivationFunction = fb.ActivationFunctionType.RELU if relu else fb.ActivationFunctionType.NONE
        operator(0, [x, wt, bt], [y], fb.BuiltinOptions.FullyConnectedOptions, opts)
        return y

    x = tensor((1, inp[0].shape[1]))
    h = fully_connected(x, *inp, relu=True, int8=False)
    for (w1, b1), (w2, b2) in blocks:
        t = fully_connected(h, w1, b1, relu=True, int8=int8_hidden)
        t = fully_connected(t, w2, b2, relu=True, int8=int8_hidden)
        s = tensor((1, w2.shape[0]))
        operator(1, [h, t], [s], fb.BuiltinOptions.AddOptions, fb.AddOptionsT())
        h = s
    y = fully_connected(h, *out, relu=False, int8=False)

    codes = []
    for op in (fb.BuiltinOperator.FULLY_CONNECTED, fb.BuiltinOperator.ADD):
        c = fb.OperatorCodeT()
        c.builtinCode, c.deprecatedBuiltinCode, c.version = op, op, 1
        codes.append(c)
    graph = fb.SubGraphT()
    graph.tensors, graph.operators, graph.inputs, graph.outputs, graph.name = tensors, ops, [x], [y], "lifter"
    m = fb.ModelT()
    m.version, m.operatorCodes, m.subgraphs, m.buffers = 3, codes, [graph], buffers
    m.description = "pose_lifting residual MLP (batch norm folded)"
    builder = flatbuffers.Builder(1 << 20)
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


class LiteRTNetwork:
    """A FusedInference network in LiteRT. Call with standardised inputs (N, in_dim) float32;
    returns (N, out_dim) float32. Thread-safe (one call at a time)."""

    def __init__(self, model: FusedInference, int8_hidden: bool, num_threads: int = 1) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.int8_hidden = int8_hidden
        self.in_dim = int(model.inp.in_features)
        self.out_dim = int(model.out.out_features)
        self._interp = Interpreter(model_content=to_flatbuffer(model, int8_hidden), num_threads=num_threads)
        self._interp.allocate_tensors()
        self._in = self._interp.get_input_details()[0]["index"]
        self._out = self._interp.get_output_details()[0]["index"]
        self._batch = 1
        self._lock = threading.Lock()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"expected inputs (N, {self.in_dim}), got {x.shape}")
        if len(x) == 0:
            return np.zeros((0, self.out_dim), np.float32)
        with self._lock:
            if len(x) != self._batch:
                self._interp.resize_tensor_input(self._in, [len(x), self.in_dim])
                self._interp.allocate_tensors()
                self._batch = len(x)
            self._interp.set_tensor(self._in, x)
            self._interp.invoke()
            return self._interp.get_tensor(self._out)
