"""A few people's whole estimate as one LiteRT graph: encode, network, decode, root solve, score.

Owns: `estimate_flatbuffer`, which writes the codec's feature encoding (codec.features_raw and
Codec.standardize), the lifting network, the decoding into root-relative metres (Codec.decode),
the root solve (solvers.solve_root, 3 reweighted iterations) and the reprojection score
(solvers.reprojection_error_px) as one float32 LiteRT model; and `FusedEstimate`, which runs it
on numpy batches. Lifter.estimate uses it for frames of up to SINGLE_THREAD_MAX people on CPU.

Why: right after the detector each numpy call runs from cold caches. For one person the float64
path (numpy encoding, the LiteRT network, numpy decoding, solve and score; about 150 numpy calls)
took 0.60 ms there, this graph 0.28 ms (docs/BENCHMARKS.md, "after the detector"). The numpy
functions named above stay the reference: they serve large batches, training and evaluation,
and test/core/test_litert_estimate.py checks this graph against them.

Folded into the weights (float64, then stored as float32): the input standardisation, with
missing joints' coordinate features set to 0 through one extra input per joint (1 when the
joint is missing), into the input layer; the output de-standardisation and the subtraction of
the root joint into the output layer, so the root is exactly 0.

Semantics that differ from the float64 reference: arithmetic is float32. On the bundled walk
(5 m away) the results differ by at most 0.0034 mm (root) in fp32; in int8 by up to 0.3 mm
(joints) and 2 mm (root, 30 m away), because each graph quantises a person's activations at run
time and a value near a rounding boundary can round one step differently in each (the test
file has the measured figures; MPJPE on the accuracy benchmark's test conditions is the same to
0.001 mm, docs/BENCHMARKS.md). Inputs far outside any image: a keypoint or confidence beyond
float32's range (|v| > 3.4e38) counts as missing, as NaN and infinity do; values whose sums or
squares overflow float32 (keypoints beyond about 1e18 px, confidences beyond about 1e18) give a
non-finite root or score, so the pipeline drops that person; a confidence below float32's
smallest normal number (1.2e-38) counts as 0. The nodes never pass such values (confidences
below min_keypoint_score are set to 0 first).

Shapes: inputs packed per person as [u0, v0, u1, v1, ..., c0..c(J-1), fx, fy, cx, cy] (N, 3J+4),
pixels; output per person [joints in the camera frame (3J), root-relative joints (3J), root
(3), reprojection error px (1)] (N, 6J+4), metres.
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np

from pose_lifting_core.codec import Codec
from pose_lifting_core.litert_network import LiteRTNetwork, _Graph, _numpy_layers, hidden_blocks
from pose_lifting_core.model import FusedInference

_BIG = float(np.finfo(np.float32).max)


class _Builder:
    """numpy-like helpers over a `_Graph`; shapes are the graph's own (batch first, as 1)."""

    def __init__(self, g: _Graph) -> None:
        self.g = g

    def shape(self, x: int) -> Tuple[int, ...]:
        return tuple(self.g.tensors[x].shape)

    def const(self, value, shape: Tuple[int, ...] = (1,)) -> int:
        return self.g.const(np.broadcast_to(np.asarray(value), shape).copy())

    def binary(self, name: str, a, b, boolean: bool = False) -> int:
        """An elementwise operator on two tensors (a float is made a constant), broadcasting."""
        a = a if isinstance(a, int) else self.const(np.float32(a))
        b = b if isinstance(b, int) else self.const(np.float32(b))
        shape = np.broadcast_shapes(self.shape(a), self.shape(b))
        return self.g.op(name, [a, b], shape, boolean)

    def add(self, a, b): return self.binary("ADD", a, b)
    def sub(self, a, b): return self.binary("SUB", a, b)
    def mul(self, a, b): return self.binary("MUL", a, b)
    def div(self, a, b): return self.binary("DIV", a, b)
    def maximum(self, a, b): return self.binary("MAXIMUM", a, b)
    def minimum(self, a, b): return self.binary("MINIMUM", a, b)
    def greater(self, a, b): return self.binary("GREATER", a, b, boolean=True)
    def logical_and(self, a, b): return self.binary("LOGICAL_AND", a, b, boolean=True)

    def unary(self, name: str, x: int) -> int:
        return self.g.op(name, [x], self.shape(x))

    def finite(self, x: int) -> int:
        """|x| <= float32 max, elementwise: False for NaN and +-inf."""
        return self.binary("LESS_EQUAL", self.unary("ABS", x), _BIG, boolean=True)

    def select(self, cond: int, a, b) -> int:
        a = a if isinstance(a, int) else self.const(np.float32(a))
        b = b if isinstance(b, int) else self.const(np.float32(b))
        shape = np.broadcast_shapes(self.shape(cond), self.shape(a), self.shape(b))
        return self.g.op("SELECT_V2", [cond, a, b], shape)

    def sum(self, x: int, axis: int) -> int:
        """Sum over one axis, kept with length 1."""
        shape = list(self.shape(x))
        shape[axis] = 1
        return self.g.op("SUM", [x, self.g.const(np.array([axis], np.int32))], tuple(shape), keepDims=True)

    def reshape(self, x: int, shape: Tuple[int, ...], boolean: bool = False) -> int:
        """To (batch,) + shape."""
        return self.g.op("RESHAPE", [x, self.g.const(np.array((-1,) + tuple(shape), np.int32))],
                         (1,) + tuple(shape), boolean, newShape=[-1] + list(shape))

    def take(self, x: int, axis: int, start: int, stop: int) -> int:
        """x[..., start:stop, ...] along one axis (not the batch)."""
        shape = list(self.shape(x))
        n = len(shape)
        begin, end = np.zeros(n, np.int32), np.array(shape, np.int32)
        begin[axis], end[axis] = start, stop
        shape[axis] = stop - start
        return self.g.op("STRIDED_SLICE", [x, self.g.const(begin), self.g.const(end),
                                           self.g.const(np.ones(n, np.int32))], tuple(shape),
                         beginMask=1, endMask=1)

    def concat(self, xs: Sequence[int], axis: int) -> int:
        shape = list(self.shape(xs[0]))
        shape[axis] = sum(self.shape(x)[axis] for x in xs)
        return self.g.op("CONCATENATION", list(xs), tuple(shape), axis=axis)

    def split(self, x: int, parts: int, axis: int) -> List[int]:
        shape = list(self.shape(x))
        shape[axis] //= parts
        return self.g.op("SPLIT", [self.g.const(np.array(axis, np.int32)), x], tuple(shape), outputs=parts,
                         numSplits=parts)


def _fold_input_layer(w: np.ndarray, b: np.ndarray, codec: Codec) -> Tuple[np.ndarray, np.ndarray]:
    """Input layer weights (H, 3J+3) and bias (H,) acting on standardised features -> weights
    (H, 4J+3) and bias (H,) acting on [raw features, missing (J)]: standardising is x = raw a + c
    with a = 1/std, c = -mean/std, except that a missing joint's two coordinate features are 0;
    raw coordinates of missing joints are 0, so only c must be taken back, through the extra
    per-joint 'missing' inputs."""
    J = codec.num_joints
    a, c = 1.0 / codec.in_std, -codec.in_mean / codec.in_std
    w64, b64 = w.astype(np.float64), b.astype(np.float64)
    wc = w64[:, :2 * J] * c[:2 * J]
    missing = -(wc[:, 0::2] + wc[:, 1::2])
    return np.concatenate([w64 * a, missing], 1), b64 + w64 @ c


def _fold_output_layer(w: np.ndarray, b: np.ndarray, codec: Codec, root: int) -> Tuple[np.ndarray, np.ndarray]:
    """Output layer (3J, H), (3J,) giving standardised targets -> one giving root-relative joints
    in metres: de-standardised, minus the root joint's rows (so the root's rows are 0)."""
    w64 = w.astype(np.float64) * codec.out_std[:, None]
    b64 = b.astype(np.float64) * codec.out_std + codec.out_mean
    J = codec.num_joints
    w3, b3 = w64.reshape(J, 3, -1), b64.reshape(J, 3)
    return (w3 - w3[root]).reshape(3 * J, -1), (b3 - b3[root]).reshape(-1)


def estimate_flatbuffer(model: FusedInference, codec: Codec, int8_hidden: bool, root: int,
                        iterations: int = 3, min_depth: float = 0.1) -> bytes:
    """The whole estimate for a batch of people as a LiteRT model (.tflite bytes): packed input
    (N, 3J+4), output (N, 6J+4) (module docstring); N resizable. int8_hidden as in
    litert_network.to_flatbuffer; iterations and min_depth as in solvers.solve_root."""
    if iterations < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations}")
    J = codec.num_joints
    g = _Graph()
    t = _Builder(g)
    P = g.activation(3 * J + 4)
    kp = t.reshape(t.take(P, 1, 0, 2 * J), (J, 2))                 # (N, J, 2) px
    w = t.take(P, 1, 2 * J, 3 * J)                                  # (N, J) confidence as given
    f = t.reshape(t.take(P, 1, 3 * J, 3 * J + 2), (1, 2))
    c = t.reshape(t.take(P, 1, 3 * J + 2, 3 * J + 4), (1, 2))
    xy = t.div(t.sub(kp, c), f)                                     # normalised, K⁻¹ u
    valid = t.logical_and(t.reshape(t.finite(t.sum(xy, 2)), (J,), boolean=True), t.finite(w))   # (N, J)
    valid3 = t.reshape(valid, (J, 1), boolean=True)
    xs = t.select(valid3, xy, 0.0)                                  # usable coordinates, 0 elsewhere

    # the codec's features (codec.features_raw)
    wf = t.select(valid, t.minimum(t.maximum(w, 0.0), 1.0), 0.0)    # (N, J) in [0, 1]
    pos = t.greater(wf, 0.0)
    pos3 = t.reshape(pos, (J, 1), boolean=True)
    wf3 = t.reshape(wf, (J, 1))
    xy0 = t.select(pos3, xs, 0.0)
    wsum = t.maximum(t.sum(wf3, 1), 1e-9)                           # (N, 1, 1)
    mean = t.div(t.sum(t.mul(xy0, wf3), 1), wsum)                   # (N, 1, 2)
    centre = t.select(t.greater(t.take(wf3, 1, root, root + 1), 0.0), t.take(xy0, 1, root, root + 1), mean)
    rel = t.sub(xy0, centre)
    radius = t.maximum(t.unary("SQRT", t.div(t.sum(t.mul(wf3, t.sum(t.mul(rel, rel), 2)), 1), wsum)), 1e-6)
    rel = t.select(pos3, t.div(rel, radius), 0.0)
    features = t.concat([t.reshape(rel, (2 * J,)), wf, t.reshape(centre, (2,)),
                         t.reshape(t.unary("LOG", radius), (1,)), t.select(pos, 0.0, 1.0)], 1)

    # the network, with standardisation folded into its first and last layers
    inp, blocks, out = _numpy_layers(model)
    h = g.fully_connected(features, *_fold_input_layer(*inp, codec), relu=True, int8=False)
    h = hidden_blocks(g, h, blocks, int8_hidden)
    X_rel = g.fully_connected(h, *_fold_output_layer(*out, codec, root), relu=False, int8=False)

    # the root solve (solvers.solve_root): closed-form 3x3 normal equations, reweighted by depth.
    # In float32 the rays are first taken relative to the body centre's ray c: with x = x' + c,
    # the equations (X+T)_x = x (X+T)_z keep their form for x', the skeleton sheared to
    # X'_x = X_x - c X_z and T'_x = T_x - c T_z (T_z unchanged), and the variance terms below
    # no longer subtract large numbers for a person far from the optical axis
    X = t.reshape(X_rel, (J, 3))
    Xz = t.take(X, 2, 2, 3)                                         # (N, J, 1)
    Xxy = t.sub(t.take(X, 2, 0, 2), t.mul(centre, Xz))              # (N, J, 2), sheared
    xs = t.sub(xs, centre)
    ws = t.select(valid, w, 0.0)                                    # (N, J) confidence where usable
    ws3 = t.reshape(ws, (J, 1))
    b = t.sub(t.mul(xs, Xz), Xxy)
    terms = t.concat([xs, t.sum(t.mul(xs, xs), 2), b, t.sum(t.mul(xs, b), 2)], 2)   # x, y, r², bx, by, x·b
    usable = t.greater(t.sum(t.select(t.greater(ws3, 0.0), 1.0, 0.0), 1), 1.5)     # (N, 1, 1): >= 2 joints
    s = ws3
    for it in range(iterations):
        if it > 0:
            z = t.maximum(t.add(Xz, Tz), min_depth)
            s = t.div(ws3, t.mul(z, z))
        m = t.div(t.sum(t.mul(s, terms), 1), t.sum(s, 1))            # (N, 1, 6) weighted means
        mx, my, mr2, mbx, mby, mxb = t.split(m, 6, 2)
        D = t.maximum(t.sub(t.sub(mr2, t.mul(mx, mx)), t.mul(my, my)), t.mul(t.add(mr2, 2.0), 1e-12))
        num = t.sub(t.add(t.mul(mx, mbx), t.mul(my, mby)), mxb)
        Tz = t.maximum(t.div(num, D), min_depth)
        Tx, Ty = t.add(mbx, t.mul(mx, Tz)), t.add(mby, t.mul(my, Tz))
    Txy = t.add(t.concat([Tx, Ty], 2), t.mul(centre, Tz))           # back from the sheared frame
    T = t.select(usable, t.concat([Txy, Tz], 2), float("nan"))      # (N, 1, 3)
    Xa = t.add(X, T)

    # the reprojection score (solvers.reprojection_error_px)
    uv = t.add(t.mul(t.div(t.take(Xa, 2, 0, 2), t.take(Xa, 2, 2, 3)), f), c)
    d = t.sub(uv, kp)
    d = t.reshape(t.unary("SQRT", t.sum(t.mul(d, d), 2)), (J,))      # (N, J) px
    fin = t.binary("LESS_EQUAL", d, _BIG, boolean=True)
    wr = t.select(fin, ws, 0.0)
    wsum_r = t.sum(wr, 1)                                           # (N, 1)
    err = t.select(t.greater(wsum_r, 0.0), t.div(t.sum(t.mul(t.select(fin, d, 0.0), wr), 1), wsum_r),
                   float("nan"))
    y = t.concat([t.reshape(Xa, (3 * J,)), X_rel, t.reshape(T, (3,)), err], 1)
    return g.finish(P, y, "pose_lifting estimate: encode, residual MLP, decode, root solve, reprojection score")


class FusedEstimate:
    """`estimate_flatbuffer`'s model, run by a `LiteRTNetwork` (which re-plans for a new batch
    size and runs one call at a time). Call it with keypoints (N, J, 2) px, confidences (N, J)
    and K (3, 3) or (N, 3, 3); returns float64 (joints_3d (N, J, 3), joints_rel (N, J, 3), root
    (N, 3), reprojection_error_px (N,)), metres and pixels, as Lifter.place does."""

    def __init__(self, content: bytes, num_joints: int, num_threads: int = 1) -> None:
        self.J = num_joints
        self._net = LiteRTNetwork(content, num_threads, chunk=1 << 16)

    def pack(self, keypoints: np.ndarray, confidence: np.ndarray, K: np.ndarray) -> np.ndarray:
        """The graph's input (N, 3J+4) float32 (module docstring)."""
        J, N = self.J, len(keypoints)
        K = np.asarray(K, dtype=np.float64)
        P = np.empty((N, 3 * J + 4), np.float32)
        with np.errstate(over="ignore"):      # beyond float32: inf, a missing joint (module docstring)
            P[:, :2 * J] = np.reshape(keypoints, (N, 2 * J))
            P[:, 2 * J:3 * J] = confidence
            P[:, 3 * J:] = K.reshape(-1, 9)[:, [0, 4, 2, 5]]
        return P

    def __call__(self, keypoints: np.ndarray, confidence: np.ndarray,
                 K: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        J, N = self.J, len(keypoints)
        y = self._net(self.pack(keypoints, confidence, K)).astype(np.float64)
        return (y[:, :3 * J].reshape(N, J, 3), y[:, 3 * J:6 * J].reshape(N, J, 3), y[:, 6 * J:6 * J + 3],
                y[:, 6 * J + 3])
