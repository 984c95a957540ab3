"""The LiteRT copy of the lifting network (litert_network.py) and when the Lifter uses it."""
import numpy as np
import pytest
import torch

from pose_lifting_core.camera import project
from pose_lifting_core.lifter import DEFAULT_CHECKPOINT, SINGLE_THREAD_MAX, Lifter
from pose_lifting_core.litert_network import LiteRTNetwork, litert_available, quantize_rows_int8, to_flatbuffer
from pose_lifting_core.model import FusedInference, LinearModel

pytestmark = pytest.mark.skipif(not litert_available(), reason="needs ai_edge_litert (LiteRT) and flatbuffers")


def _fused(in_dim=20, out_dim=9, width=64, blocks=2, seed=0) -> FusedInference:
    torch.manual_seed(seed)
    m = LinearModel(in_dim, out_dim, width=width, num_blocks=blocks)
    m.train()
    for _ in range(5):                      # non-trivial batch norm statistics to fold
        m(torch.randn(256, in_dim) * 2 + 0.5)
    return FusedInference(m.eval())


def _people(n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 0.3, (n, 17, 3))
    X[..., 2] += rng.uniform(3, 8, (n, 1))
    K = np.array([[900.0, 0, 640], [0, 900, 360], [0, 0, 1]])
    return project(X, K), np.ones((n, 17)), K


def test_quantize_rows_round_trip_within_half_a_step():
    w = np.random.default_rng(0).normal(0, 0.1, (8, 30)).astype(np.float32)
    w[3] = 0.0
    q, scale = quantize_rows_int8(w)
    assert q.dtype == np.int8 and scale.shape == (8,) and scale[3] == 1.0
    assert np.abs(q).max() <= 127
    assert np.all(np.abs(q * scale[:, None] - w) <= scale[:, None] / 2 + 1e-7)


def test_fp32_network_equals_pytorch():
    model = _fused()
    net = LiteRTNetwork(model, int8_hidden=False)
    x = np.random.default_rng(1).normal(size=(7, 20)).astype(np.float32)
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(net(x), ref, atol=1e-4, rtol=1e-4)


def test_int8_network_is_close_to_fp32_and_really_quantised():
    model = _fused(width=128)
    x = np.random.default_rng(2).normal(size=(16, 20)).astype(np.float32)
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    y = LiteRTNetwork(model, int8_hidden=True)(x)
    err = np.abs(y - ref).max() / np.abs(ref).max()
    assert 0 < err < 0.03, err
    # int8 weights take about a quarter of the fp32 model's bytes
    assert len(to_flatbuffer(model, True)) < 0.45 * len(to_flatbuffer(model, False))


def test_each_person_is_independent_of_the_batch():
    """Resizing between calls works, and activations are quantised per person, so a person's
    result does not depend on who else is in the batch."""
    net = LiteRTNetwork(_fused(), int8_hidden=True)
    x = np.random.default_rng(3).normal(size=(5, 20)).astype(np.float32)
    whole = net(x)
    for i in (0, 4, 2):
        np.testing.assert_array_equal(net(x[i:i + 1])[0], whole[i])
    np.testing.assert_array_equal(net(x), whole)


def test_bad_shapes_and_empty_batches():
    net = LiteRTNetwork(_fused(), int8_hidden=False)
    assert net(np.zeros((0, 20))).shape == (0, 9)
    with pytest.raises(ValueError, match=r"expected inputs \(N, 20\)"):
        net(np.zeros((2, 19)))
    with pytest.raises(ValueError, match="expected inputs"):
        net(np.zeros(20))


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_lifter_uses_litert_for_small_cpu_batches_only(precision, monkeypatch):
    lifter = Lifter.load(DEFAULT_CHECKPOINT, "cpu", precision)
    if lifter.precision != precision:
        pytest.skip(f"no native {precision} on this CPU")
    assert lifter.litert is not None and lifter.litert_max_batch == SINGLE_THREAD_MAX
    calls = []
    real_lite, real_torch = lifter.litert.__call__, lifter.model.forward
    monkeypatch.setattr(lifter, "litert", lambda x: (calls.append(("litert", len(x))), real_lite(x))[1])
    monkeypatch.setattr(lifter.model, "forward", lambda x: (calls.append(("torch", len(x))), real_torch(x))[1])
    kp, conf, K = _people(SINGLE_THREAD_MAX + 1)
    lifter.lift(kp[:1], conf[:1], K)
    lifter.lift(kp[:SINGLE_THREAD_MAX], conf[:SINGLE_THREAD_MAX], K)
    lifter.lift(kp, conf, K)
    lifter.forward(torch.zeros(3, lifter.codec.in_dim))
    assert calls == [("litert", 1), ("litert", SINGLE_THREAD_MAX), ("torch", SINGLE_THREAD_MAX + 1), ("litert", 3)]


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_litert_and_pytorch_paths_agree(precision):
    lite = Lifter.load(DEFAULT_CHECKPOINT, "cpu", precision)
    if lite.precision != precision:
        pytest.skip(f"no native {precision} on this CPU")
    torch_only = Lifter.load(DEFAULT_CHECKPOINT, "cpu", precision, litert_max_batch=0)
    fp32 = Lifter.load(DEFAULT_CHECKPOINT, "cpu", "fp32", litert_max_batch=0)
    assert torch_only.litert is None
    kp, conf, K = _people(SINGLE_THREAD_MAX, 5)
    a, b, ref = lite.lift(kp, conf, K), torch_only.lift(kp, conf, K), fp32.lift(kp, conf, K)
    tol = 1e-5 if precision == "fp32" else 0.02    # metres: int8 rounds differently in each engine
    assert np.abs(a - b).max() < tol
    assert np.linalg.norm(a - ref, axis=-1).mean() < (1e-6 if precision == "fp32" else 0.002)


def test_no_litert_for_bf16_or_when_disabled():
    with pytest.raises(ValueError, match="litert_max_batch must be >= 0"):
        Lifter.load(DEFAULT_CHECKPOINT, "cpu", "fp32", litert_max_batch=-1)
    assert Lifter.load(DEFAULT_CHECKPOINT, "cpu", "fp32", litert_max_batch=0).litert is None
    bf16 = Lifter.load(DEFAULT_CHECKPOINT, "cpu", "bf16")
    if bf16.precision == "bf16":
        assert bf16.litert is None and bf16.litert_max_batch == 0
