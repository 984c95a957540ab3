"""The lifting network run by LiteRT (XNNPACK) on CPU.

Owns: writing a `FusedInference` network as an in-memory LiteRT model (one FULLY_CONNECTED op
per layer with its ReLU fused, one ADD per residual connection), optionally with the hidden
width x width layers' weights in int8 (symmetric, one scale per output channel; LiteRT quantises
the activations per person at run time, "dynamic range" quantisation); a one-layer model of the
same kind, the matrix-multiply reference of the throughput benchmark; and running them on numpy
batches, in chunks. The models are built from the checkpoint's weights each time a Lifter
loads; no file is written.

Why: on this project's CPUs LiteRT ran the network faster than PyTorch at every batch size
(docs/BENCHMARKS.md). Right after the detector (BlazePose, itself run by LiteRT) PyTorch's code is
out of the CPU caches and each PyTorch op costs up to about 0.1 ms, so the PyTorch int8 network
took 0.74 ms for one person there against 0.36 ms here; at large batches LiteRT was about 7 %
faster in fp32 and 25 % in int8. PyTorch keeps bf16, CUDA and training, and is the fallback
without LiteRT.
"""
from __future__ import annotations

import threading
from typing import Dict, List, Optional, Tuple

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


_OPTIONS = {   # builtin operator -> its options table in the schema (None: the operator has none)
    "ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions", "DIV": "DivOptions",
    "FULLY_CONNECTED": "FullyConnectedOptions", "SUM": "ReducerOptions",
    "MAXIMUM": "MaximumMinimumOptions", "MINIMUM": "MaximumMinimumOptions", "SQRT": None, "LOG": None,
    "ABS": "AbsOptions", "SELECT_V2": "SelectV2Options", "LESS_EQUAL": "LessEqualOptions",
    "GREATER": "GreaterOptions", "LOGICAL_AND": "LogicalAndOptions",
    "CONCATENATION": "ConcatenationOptions", "RESHAPE": "ReshapeOptions",
    "STRIDED_SLICE": "StridedSliceOptions", "SPLIT": "SplitOptions",
}


class _Graph:
    """A one-subgraph LiteRT model under construction: activations whose first dimension (the
    batch) can be resized, constants in their own buffers, and the builtin operators of
    `_OPTIONS`, each with its options given as keyword arguments (schema field names)."""

    def __init__(self) -> None:
        from ai_edge_litert import schema_py_generated as fb

        self.fb = fb
        self.buffers = [fb.BufferT()]       # buffer 0: no data (activations)
        self.tensors: List[object] = []
        self.ops: List[object] = []
        self.codes: Dict[int, int] = {}     # builtin operator -> index in the model's operator codes

    def tensor(self, shape: Tuple[int, ...], data: Optional[np.ndarray] = None, ttype: Optional[int] = None,
               quant: object = None) -> int:
        """Index of a new tensor: with data, a constant held in its own buffer; without, an
        activation whose first dimension (the batch) can be resized. ttype: a schema
        TensorType (FLOAT32 when None); quant: its QuantizationParametersT, if any."""
        fb = self.fb
        t = fb.TensorT()
        t.shape, t.quantization, t.buffer = list(shape), quant, 0
        t.type = fb.TensorType.FLOAT32 if ttype is None else ttype
        if data is not None:
            b = fb.BufferT()
            b.data = np.frombuffer(np.ascontiguousarray(data).tobytes(), np.uint8)
            self.buffers.append(b)
            t.buffer = len(self.buffers) - 1
        else:
            t.shapeSignature = [-1] + list(shape[1:])
        self.tensors.append(t)
        return len(self.tensors) - 1

    def const(self, data: np.ndarray) -> int:
        """A float32 constant (bool and int32 arrays keep their type), shaped as `data`."""
        a = np.asarray(data)
        if a.dtype == np.bool_:
            return self.tensor(a.shape, a, self.fb.TensorType.BOOL)
        if a.dtype.kind in "iu":
            return self.tensor(a.shape, a.astype(np.int32), self.fb.TensorType.INT32)
        return self.tensor(a.shape, a.astype(np.float32))

    def activation(self, width: int) -> int:
        """A (batch, width) float32 activation."""
        return self.tensor((1, width))

    def op(self, name: str, inputs: List[int], shape: Tuple[int, ...], boolean: bool = False,
           outputs: int = 1, **options) -> object:
        """Append the builtin operator `name` on `inputs` (-1: an omitted optional input); its
        output(s) are new activations of `shape` (the leading 1 is the batch), bool if boolean.
        Returns the output index, or a list of `outputs` indices."""
        fb = self.fb
        code = getattr(fb.BuiltinOperator, name)
        if code not in self.codes:
            self.codes[code] = len(self.codes)
        ttype = fb.TensorType.BOOL if boolean else None
        outs = [self.tensor(shape, ttype=ttype) for _ in range(outputs)]
        op = fb.OperatorT()
        op.opcodeIndex, op.inputs, op.outputs = self.codes[code], list(inputs), outs
        table = _OPTIONS[name]
        if table is not None:
            opts = getattr(fb, table + "T")()
            for k, v in options.items():
                setattr(opts, k, v)
            op.builtinOptionsType, op.builtinOptions = getattr(fb.BuiltinOptions, table), opts
        self.ops.append(op)
        return outs[0] if outputs == 1 else outs

    def fully_connected(self, x: int, w: np.ndarray, b: Optional[np.ndarray], relu: bool, int8: bool) -> int:
        """y = relu?(x w^T + b); w (out, in) float, stored as int8 per output channel if int8."""
        fb = self.fb
        if int8:
            q, scale = quantize_rows_int8(w)
            qp = fb.QuantizationParametersT()
            qp.scale, qp.zeroPoint, qp.quantizedDimension = scale.tolist(), [0] * len(scale), 0
            wt = self.tensor(w.shape, q, fb.TensorType.INT8, qp)
        else:
            wt = self.tensor(w.shape, w.astype(np.float32))
        bt = -1 if b is None else self.tensor(b.shape, b.astype(np.float32))
        act = fb.ActivationFunctionType.RELU if relu else fb.ActivationFunctionType.NONE
        return self.op("FULLY_CONNECTED", [x, wt, bt], (1, w.shape[0]), fusedActivationFunction=act)

    def add(self, a: int, b: int, width: int) -> int:
        """y = a + b, both (batch, width)."""
        return self.op("ADD", [a, b], (1, width))

    def finish(self, x, y, description: str) -> bytes:
        """The model as .tflite bytes, with input tensor(s) x and output tensor(s) y (an index
        or a list of them)."""
        import flatbuffers

        fb = self.fb
        codes = []
        for op, _ in sorted(self.codes.items(), key=lambda kv: kv[1]):
            c = fb.OperatorCodeT()
            c.builtinCode, c.deprecatedBuiltinCode, c.version = op, min(op, 127), 1
            codes.append(c)
        graph = fb.SubGraphT()
        graph.tensors, graph.operators = self.tensors, self.ops
        graph.inputs = [x] if isinstance(x, int) else list(x)
        graph.outputs = [y] if isinstance(y, int) else list(y)
        m = fb.ModelT()
        m.version, m.operatorCodes, m.subgraphs, m.buffers = 3, codes, [graph], self.buffers
        m.description = description
        builder = flatbuffers.Builder(1 << 20)
        builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())


def hidden_blocks(g: _Graph, h: int, blocks, int8: bool) -> int:
    """The residual blocks on activation h: h + relu(W2 relu(W1 h + b1) + b2) for each block's
    ((W1, b1), (W2, b2)), weights in int8 if int8. Returns the last block's output."""
    for (w1, b1), (w2, b2) in blocks:
        t = g.fully_connected(h, w1, b1, relu=True, int8=int8)
        t = g.fully_connected(t, w2, b2, relu=True, int8=int8)
        h = g.add(h, t, w2.shape[0])
    return h


def to_flatbuffer(model: FusedInference, int8_hidden: bool) -> bytes:
    """The network as a LiteRT model (.tflite bytes) with input (N, in_dim) and output
    (N, out_dim), N resizable. int8_hidden: the hidden width x width layers in int8, as
    `model.quantize_hidden_int8` does for PyTorch; the input and output layers stay fp32."""
    inp, blocks, out = _numpy_layers(model)
    g = _Graph()
    x = g.activation(inp[0].shape[1])
    h = hidden_blocks(g, g.fully_connected(x, *inp, relu=True, int8=False), blocks, int8_hidden)
    y = g.fully_connected(h, *out, relu=False, int8=False)
    return g.finish(x, y, "pose_lifting residual MLP (batch norm folded)")


def matmul_flatbuffer(k: int, m: int, int8: bool, seed: int = 0) -> bytes:
    """One FULLY_CONNECTED layer k -> m with random weights and no bias: LiteRT's dense
    matrix-multiply rate in a number format, the reference for the lifter's throughput."""
    g = _Graph()
    x = g.activation(k)
    w = np.random.default_rng(seed).normal(0, 0.05, (m, k))
    return g.finish(x, g.fully_connected(x, w, None, relu=False, int8=int8), "matmul reference")


class LiteRTNetwork:
    """A LiteRT model with one input (N, in_dim) and one output (N, out_dim), float32, N
    resizable: the lifting network (`from_model`) or the matmul reference. Call it with a
    batch; batches over `chunk` rows go through in chunks. A batch size other than the last
    one re-plans the interpreter (about 0.03 ms), so a frame whose people count changed costs a
    little more. Thread-safe (one call at a time); results are copies."""

    def __init__(self, content: bytes, num_threads: int = 1, chunk: int = 1024) -> None:
        from ai_edge_litert.interpreter import Interpreter

        if num_threads < 1 or chunk < 1:
            raise ValueError(f"num_threads and chunk must be >= 1, got {num_threads}, {chunk}")
        self.num_threads, self.chunk = num_threads, chunk
        self._interp = Interpreter(model_content=content, num_threads=num_threads)
        self._interp.allocate_tensors()
        inp, out = self._interp.get_input_details()[0], self._interp.get_output_details()[0]
        self._in, self._out = inp["index"], out["index"]
        self.in_dim, self.out_dim = int(inp["shape"][1]), int(out["shape"][1])
        self._batch = 1
        self._lock = threading.Lock()

    @staticmethod
    def from_model(model: FusedInference, int8_hidden: bool, num_threads: int = 1,
                   chunk: int = 1024) -> "LiteRTNetwork":
        """The lifting network (`to_flatbuffer`) on `num_threads` CPU threads."""
        return LiteRTNetwork(to_flatbuffer(model, int8_hidden), num_threads, chunk)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"expected inputs (N, {self.in_dim}), got {x.shape}")
        if len(x) == 0:
            return np.zeros((0, self.out_dim), np.float32)
        if len(x) > self.chunk:
            return np.concatenate([self._run(x[i:i + self.chunk]) for i in range(0, len(x), self.chunk)])
        return self._run(x)

    def _run(self, x: np.ndarray) -> np.ndarray:
        with self._lock:
            if len(x) != self._batch:
                self._interp.resize_tensor_input(self._in, [len(x), self.in_dim])
                self._interp.allocate_tensors()
                self._batch = len(x)
            self._interp.set_tensor(self._in, x)
            self._interp.invoke()
            return self._interp.get_tensor(self._out)
