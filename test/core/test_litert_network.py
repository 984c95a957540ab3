"""The LiteRT copy of the lifting network (litert_network.py), and when the Lifter runs it."""
import numpy as np
import pytest
import torch

from pose_lifting_core.benchmark import synthetic_people as _people
from pose_lifting_core.lifter import DEFAULT_CHECKPOINT, SINGLE_THREAD_MAX, Lifter
from pose_lifting_core.litert_network import (LiteRTNetwork, litert_available, matmul_flatbuffer,
                                              quantize_rows_int8, to_flatbuffer)
from pose_lifting_core.model import FusedInference, LinearModel

pytestmark = pytest.mark.skipif(not litert_available(), reason="needs ai_edge_litert (LiteRT) and flatbuffers")


def _fused(in_dim=20, out_dim=9, width=64, blocks=2, seed=0) -> FusedInference:
    torch.manual_seed(seed)
    m = LinearModel(in_dim, out_dim, width=width, num_blocks=blocks)
    m.train()
    for _ in range(5):                      # non-trivial batch norm statistics to fold
        m(torch.randn(256, in_dim) * 2 + 0.5)
    return FusedInference(m.eval())


def test_quantize_rows_round_trip_within_half_a_step():
    w = np.random.default_rng(0).normal(0, 0.1, (8, 30)).astype(np.float32)
    w[3] = 0.0
    q, scale = quantize_rows_int8(w)
    assert q.dtype == np.int8 and scale.shape == (8,) and scale[3] == 1.0
    assert np.abs(q).max() <= 127
    assert np.all(np.abs(q * scale[:, None] - w) <= scale[:, None] / 2 + 1e-7)


def test_fp32_network_equals_pytorch():
    model = _fused()
    net = LiteRTNetwork.from_model(model, int8_hidden=False)
    assert (net.in_dim, net.out_dim, net.num_threads) == (20, 9, 1)
    x = np.random.default_rng(1).normal(size=(7, 20)).astype(np.float32)
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(net(x), ref, atol=1e-4, rtol=1e-4)


def test_int8_network_is_close_to_fp32_and_really_quantised():
    model = _fused(width=128)
    x = np.random.default_rng(2).normal(size=(16, 20)).astype(np.float32)
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    y = LiteRTNetwork.from_model(model, int8_hidden=True)(x)
    err = np.abs(y - ref).max() / np.abs(ref).max()
    assert 0 < err < 0.03, err
    # int8 weights take about a quarter of the fp32 model's bytes
    assert len(to_flatbuffer(model, True)) < 0.45 * len(to_flatbuffer(model, False))


def test_each_person_is_independent_of_the_batch():
    """Resizing between calls works, and activations are quantised per person, so a person's
    result does not depend on who else is in the batch."""
    net = LiteRTNetwork.from_model(_fused(), int8_hidden=True)
    x = np.random.default_rng(3).normal(size=(5, 20)).astype(np.float32)
    whole = net(x)
    for i in (0, 4, 2):
        np.testing.assert_array_equal(net(x[i:i + 1])[0], whole[i])
    np.testing.assert_array_equal(net(x), whole)


@pytest.mark.parametrize("int8", [False, True])
def test_chunks_and_threads_give_the_same_numbers(int8):
    """A batch over `chunk` rows goes through in chunks, on one thread or two: same results."""
    model = _fused()
    x = np.random.default_rng(4).normal(size=(23, 20)).astype(np.float32)
    whole = LiteRTNetwork.from_model(model, int8, num_threads=1, chunk=64)(x)
    np.testing.assert_array_equal(LiteRTNetwork.from_model(model, int8, num_threads=2, chunk=5)(x), whole)
    with pytest.raises(ValueError, match="num_threads and chunk must be >= 1"):
        LiteRTNetwork.from_model(model, int8, num_threads=0)


@pytest.mark.parametrize("int8", [False, True])
def test_matmul_reference_multiplies(int8):
    net = LiteRTNetwork(matmul_flatbuffer(30, 12, int8, seed=3))
    w = np.random.default_rng(3).normal(0, 0.05, (12, 30))
    x = np.random.default_rng(5).normal(size=(4, 30)).astype(np.float32)
    np.testing.assert_allclose(net(x), x @ w.T, atol=0.02 if int8 else 1e-5)


def test_bad_shapes_and_empty_batches():
    net = LiteRTNetwork.from_model(_fused(), int8_hidden=False)
    assert net(np.zeros((0, 20))).shape == (0, 9)
    with pytest.raises(ValueError, match=r"expected inputs \(N, 20\)"):
        net(np.zeros((2, 19)))
    with pytest.raises(ValueError, match="expected inputs"):
        net(np.zeros(20))


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_lifter_runs_on_litert_one_thread_for_a_few_people(precision, monkeypatch):
    before = torch.get_num_threads()
    torch.set_num_threads(2)          # the multi-thread network takes torch's thread count
    try:
        lifter = Lifter.load(DEFAULT_CHECKPOINT, "cpu", precision)
    finally:
        torch.set_num_threads(before)
    if lifter.precision != precision:
        pytest.skip(f"no native {precision} on this CPU")
    assert lifter.litert_one.num_threads == 1 and lifter.litert_many.num_threads == 2
    assert lifter.engine_for(SINGLE_THREAD_MAX) == "LiteRT, 1 thread"
    assert lifter.engine_for(SINGLE_THREAD_MAX + 1) == "LiteRT, 2 threads"
    calls = []
    for name in ("litert_one", "litert_many"):
        real = getattr(lifter, name)
        monkeypatch.setattr(lifter, name, (lambda real, name: lambda x: (calls.append((name, len(x))), real(x))[1])(real, name))
    monkeypatch.setattr(lifter.model, "forward", lambda x: pytest.fail("PyTorch ran a CPU fp32/int8 batch"))
    kp, conf, K = _people(SINGLE_THREAD_MAX + 1)
    lifter.lift(kp[:1], conf[:1], K)
    lifter.lift(kp, conf, K)
    lifter.forward(torch.zeros(3, lifter.codec.in_dim))
    assert calls == [("litert_one", 1), ("litert_many", SINGLE_THREAD_MAX + 1), ("litert_one", 3)]


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_litert_and_pytorch_engines_agree(precision):
    lite = Lifter.load(DEFAULT_CHECKPOINT, "cpu", precision)
    if lite.precision != precision:
        pytest.skip(f"no native {precision} on this CPU")
    torch_only = Lifter.load(DEFAULT_CHECKPOINT, "cpu", precision, engine="torch")
    fp32 = Lifter.load(DEFAULT_CHECKPOINT, "cpu", "fp32", engine="torch")
    assert torch_only.litert_one is None and torch_only.engine_for(1) == "PyTorch"
    kp, conf, K = _people(40, 5)
    for n in (SINGLE_THREAD_MAX, 40):       # the one-thread and the multi-thread LiteRT network
        a, b, ref = lite.lift(kp[:n], conf[:n], K), torch_only.lift(kp[:n], conf[:n], K), fp32.lift(kp[:n], conf[:n], K)
        tol = 1e-5 if precision == "fp32" else 0.02    # metres: int8 rounds differently in each engine
        assert np.abs(a - b).max() < tol
        assert np.linalg.norm(a - ref, axis=-1).mean() < (1e-6 if precision == "fp32" else 0.002)


def test_no_litert_for_bf16_or_when_asked_not_to():
    with pytest.raises(ValueError, match="engine must be one of auto, torch"):
        Lifter.load(DEFAULT_CHECKPOINT, "cpu", "fp32", engine="onnx")
    assert Lifter.load(DEFAULT_CHECKPOINT, "cpu", "fp32", engine="torch").litert_many is None
    bf16 = Lifter.load(DEFAULT_CHECKPOINT, "cpu", "bf16")
    if bf16.precision == "bf16":
        assert bf16.litert_one is None and bf16.engine_for(1) == "PyTorch"


def test_a_litert_failure_falls_back_to_pytorch_with_a_warning(monkeypatch):
    import pose_lifting_core.lifter as lifter_module

    def broken(*args, **kwargs):
        raise RuntimeError("unsupported op")
    monkeypatch.setattr(lifter_module, "LiteRTNetwork", broken)
    with pytest.warns(UserWarning, match="LiteRT could not load the lifting network .*unsupported op.*PyTorch"):
        lifter = Lifter.load(DEFAULT_CHECKPOINT, "cpu", "fp32")
    assert lifter.litert_one is None and lifter.engine_for(1) == "PyTorch"
    kp, conf, K = _people(2)
    assert np.isfinite(lifter.lift(kp, conf, K)).all()
