"""Checkpoint save/load with normalisation, codec round trips, devices."""

import os

import numpy as np
import pytest
import torch

from pose_lifting_core.camera import mirror_pixels, project
from pose_lifting_core.codec import Codec, features_raw
from pose_lifting_core import lifter as lifter_module
from pose_lifting_core.lifter import (
    DEFAULT_CHECKPOINT,
    CheckpointError,
    Lifter,
    load_checkpoint,
    native_bf16,
    available_precisions,
    resolve_device,
    resolve_precision,
    save_checkpoint,
)
from pose_lifting_core.model import LinearModel, apply_max_norm, count_parameters
from pose_lifting_core.skeleton import JOINT_NAMES, SKELETON
from conftest import poisoned_checkpoint


def _data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 0.3, (n, 17, 3))
    X[..., 2] += rng.uniform(3, 8, (n, 1))
    K = np.array([[900.0, 0, 640], [0, 900, 360], [0, 0, 1]])
    kp = project(X, K)
    return X - X[:, :1], kp, np.ones((n, 17)), K


def _tiny(tmp_path, width=32):
    X_rel, kp, conf, K = _data()
    codec = Codec.fit(features_raw(kp, conf, K), X_rel)
    model = LinearModel(codec.in_dim, codec.out_dim, width=width, num_blocks=1)
    path = str(tmp_path / "tiny.pt")
    save_checkpoint(path, model, codec, {"epochs": 0}, {"dataset": "synthetic"})
    return path, model, codec


def test_martinez_size_is_about_4_3m_parameters():
    m = LinearModel(17 * 3 + 3, 17 * 3)
    assert 4.2e6 < count_parameters(m) < 4.4e6
    assert LinearModel(10, 3, width=64, num_blocks=3).hparams["num_blocks"] == 3


def test_max_norm_caps_rows():
    m = LinearModel(8, 3, width=16, num_blocks=1)
    with torch.no_grad():
        m.out.weight.mul_(100)
    apply_max_norm(m, 1.0)
    assert m.out.weight.norm(dim=1).max() <= 1.0 + 1e-6


def test_codec_is_invariant_to_the_camera():
    """The same rays seen through different K give the same features (one model, any camera)."""
    X_rel, kp, conf, K = _data(20)
    K2 = np.array([[2500.0, 0, 900], [0, 2500, 500], [0, 0, 1]])
    X = X_rel + np.array([0.3, -0.2, 5.0])
    f1 = features_raw(project(X, K), conf, K)
    f2 = features_raw(project(X, K2), conf, K2)
    np.testing.assert_allclose(f1, f2, atol=1e-9)


def test_codec_masks_missing_joints():
    X_rel, kp, conf, K = _data(50)
    codec = Codec.fit(features_raw(kp, conf, K), X_rel)
    conf2 = conf.copy()
    conf2[:, 7] = 0
    x = codec.encode(kp, conf2, K)
    assert (x[:, 14:16] == 0).all() and (x[:, 2 * 17 + 7] == 0).all()
    assert np.isfinite(codec.encode(kp, np.zeros_like(conf), K)).all()


def test_checkpoint_round_trip_keeps_weights_and_normalisation(tmp_path):
    path, model, codec = _tiny(tmp_path)
    lifter = Lifter.load(path, device="cpu", precision="fp32", mirror_average=False)
    for a, b in zip(
        ("in_mean", "in_std", "out_mean", "out_std"), ("in_mean", "in_std", "out_mean", "out_std")
    ):
        np.testing.assert_array_equal(getattr(lifter.codec, a), getattr(codec, b))
    assert lifter.codec.joint_names == JOINT_NAMES
    X_rel, kp, conf, K = _data(10, 1)
    model.eval()
    with torch.no_grad():
        ref = codec.decode(model(torch.from_numpy(codec.encode(kp, conf, K))).numpy())
    np.testing.assert_allclose(lifter.lift(kp, conf, K), ref, atol=1e-6)
    blob = load_checkpoint(path)
    assert blob["provenance"]["dataset"] == "synthetic"


def test_lifter_output_is_root_relative_and_placed(tmp_path):
    path, _, _ = _tiny(tmp_path)
    X_rel, kp, conf, K = _data(7, 2)
    res = Lifter.load(path, "cpu").estimate(kp, conf, K)
    assert res.joints_3d.shape == (7, 17, 3)
    np.testing.assert_allclose(res.joints_rel[:, 0], 0.0)
    np.testing.assert_allclose(
        res.joints_3d - res.joints_rel, np.repeat(res.root[:, None], 17, 1), atol=1e-12
    )
    assert (res.root[:, 2] > 0).all() and np.isfinite(res.reprojection_error_px).all()


def test_a_mirrored_person_is_lifted_mirrored():
    """With the test-time mirror (the default) the lifter answers a mirrored image with the
    mirrored skeleton, exactly: the average of the person lifted as seen and mirrored. The
    network alone (mirror_average=False) does not, so the two differ."""
    X_rel, kp, conf, K = _data(64, 5)
    conf = conf * np.linspace(0.3, 1.0, 17)  # confidences follow their joints when mirrored
    flip, x = SKELETON.flip_permutation(), np.array([-1.0, 1.0, 1.0])
    kp_m, conf_m = mirror_pixels(kp, K)[:, flip], conf[:, flip]
    both = Lifter.load(DEFAULT_CHECKPOINT, "cpu", "fp32")
    a, b = both.lift(kp, conf, K), both.lift(kp_m, conf_m, K)
    np.testing.assert_allclose(b, a[:, flip] * x, atol=1e-5)
    once = Lifter.load(DEFAULT_CHECKPOINT, "cpu", "fp32", mirror_average=False)
    c, d = once.lift(kp, conf, K), once.lift(kp_m, conf_m, K)
    np.testing.assert_allclose(a, 0.5 * (c + d[:, flip] * x), atol=1e-5)
    assert np.linalg.norm(c - d[:, flip] * x, axis=-1).mean() > 0.005


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        Lifter.load(str(tmp_path / "nope.pt"))


def test_corrupt_checkpoint(tmp_path):
    path, _, _ = _tiny(tmp_path)
    data = open(path, "rb").read()
    with open(path, "wb") as fh:
        fh.write(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt"):
        Lifter.load(path)


def test_foreign_checkpoint(tmp_path):
    path = str(tmp_path / "other.pt")
    torch.save({"weights": torch.zeros(3)}, path)
    with pytest.raises(CheckpointError, match="not a pose_lifting"):
        Lifter.load(path)


def test_checkpoint_with_wrong_shapes(tmp_path):
    path, model, codec = _tiny(tmp_path)
    blob = load_checkpoint(path)
    blob["hparams"]["width"] = 64
    torch.save(blob, path)
    with pytest.raises(CheckpointError, match="does not match"):
        Lifter.load(path)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused_on_load_and_on_save(tmp_path, value):
    """A checkpoint with a NaN or infinite weight lifted nobody, in silence ("lifted 0/110"):
    loading refuses it, naming the file and the tensors; saving refuses such weights."""
    path, model, codec = _tiny(tmp_path)
    bad = str(tmp_path / "bad.pt")
    name, size = poisoned_checkpoint(path, bad, value)
    want = f"checkpoint {bad} is unusable: its weights have 1 NaN or infinite values, in {name} "
    with pytest.raises(CheckpointError) as exc:
        Lifter.load(bad)
    assert str(exc.value).startswith(want + f"(1 of {size})"), exc.value
    with torch.no_grad():
        next(model.parameters()).view(-1)[0] = value
    with pytest.raises(CheckpointError, match="not saving .*new.pt: the weights have 1 NaN"):
        save_checkpoint(str(tmp_path / "new.pt"), model, codec, {}, {})
    assert not os.path.exists(tmp_path / "new.pt")


def test_device_choice():
    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.warns(UserWarning, match="CUDA is not available"):
            assert resolve_device("cuda").type == "cpu"


def test_precision_choice(monkeypatch):
    cpu = torch.device("cpu")
    assert resolve_precision("fp32", cpu) == "fp32"
    with pytest.raises(ValueError, match="precision must be one of auto, fp32, bf16, int8"):
        resolve_precision("fp16", cpu)
    monkeypatch.setattr(lifter_module, "available_precisions", lambda device: ("fp32",))
    assert resolve_precision("auto", cpu) == "fp32"
    with pytest.warns(UserWarning, match="no native bf16 kernels; using fp32"):
        assert resolve_precision("bf16", cpu) == "fp32"
    monkeypatch.setattr(lifter_module, "available_precisions", lambda device: ("fp32", "bf16"))
    assert resolve_precision("auto", cpu) == "bf16"
    with pytest.warns(UserWarning, match="no native int8 kernels; using bf16"):
        assert resolve_precision("int8", cpu) == "bf16"
    monkeypatch.setattr(
        lifter_module, "available_precisions", lambda device: ("fp32", "bf16", "int8")
    )
    assert resolve_precision("auto", cpu) == "bf16"  # int8 only when asked for
    assert resolve_precision("int8", cpu) == "int8"
    monkeypatch.setattr(lifter_module, "available_precisions", lambda device: ("fp32", "int8"))
    assert resolve_precision("auto", cpu) == "fp32"
    cuda = torch.device("cuda")
    monkeypatch.setattr(lifter_module, "available_precisions", lambda device: ("fp32", "bf16"))
    assert resolve_precision("auto", cuda) == "fp32"  # bf16 not yet timed on a GPU: opt-in
    assert resolve_precision("bf16", cuda) == "bf16"
    with pytest.warns(UserWarning, match="no native int8 kernels; using bf16"):
        assert resolve_precision("int8", cuda) == "bf16"


@pytest.mark.parametrize("precision", ["bf16"])
def test_faster_formats_stay_close_to_fp32(precision):
    if precision not in available_precisions(torch.device("cpu")):
        pytest.skip(f"this CPU has no native {precision} kernels")
    X_rel, kp, conf, K = _data(256, 4)
    fp32 = Lifter.load(DEFAULT_CHECKPOINT, "cpu", "fp32")
    fast = Lifter.load(DEFAULT_CHECKPOINT, "cpu", precision)
    assert fast.precision == precision
    a, b = fp32.estimate(kp, conf, K), fast.estimate(kp, conf, K)
    assert b.joints_rel.dtype == np.float64
    # a few mm at worst per joint, well under a millimetre on average
    assert np.abs(a.joints_rel - b.joints_rel).max() < 0.02
    assert np.linalg.norm(a.joints_rel - b.joints_rel, axis=-1).mean() < 0.002
    assert not np.array_equal(a.joints_rel, b.joints_rel), (
        "the format must actually change the arithmetic"
    )


def test_int8_moves_joints_by_millimetres_depending_on_the_batch():
    """PyTorch's int8 quantises activations with one scale per call: alone, a person's joints
    move by about 2 mm on average from fp32; in a batch of 256, by about 4 mm (measured on the
    shipped weights: 1.8 and 4.2 mm, worst joints 11 and 34 mm). Why it is not the default."""
    if "int8" not in available_precisions(torch.device("cpu")):
        pytest.skip("no x86 int8 kernels (fbgemm) in this torch")
    X_rel, kp, conf, K = _data(256, 4)
    a = Lifter.load(DEFAULT_CHECKPOINT, "cpu", "fp32").lift(kp, conf, K)
    int8 = Lifter.load(DEFAULT_CHECKPOINT, "cpu", "int8")
    batch = np.linalg.norm(int8.lift(kp, conf, K) - a, axis=-1)
    alone = np.linalg.norm(
        np.concatenate([int8.lift(kp[i : i + 1], conf[i : i + 1], K) for i in range(64)]) - a[:64],
        axis=-1,
    )
    assert 0.0 < alone.mean() < 0.003 and alone.max() < 0.03
    assert 0.0 < batch.mean() < 0.006 and batch.max() < 0.06


def test_int8_keeps_input_and_output_layers_fp32():
    if "int8" not in available_precisions(torch.device("cpu")):
        pytest.skip("no x86 int8 kernels (fbgemm) in this torch")
    lifter = Lifter.load(DEFAULT_CHECKPOINT, "cpu", "int8")
    assert (
        isinstance(lifter.model.inp, torch.nn.Linear)
        and lifter.model.inp.weight.dtype == torch.float32
    )
    assert isinstance(lifter.model.out, torch.nn.Linear)
    hidden = [m for blk in lifter.model.blocks for m in blk]
    assert hidden and all(
        not isinstance(m, torch.nn.Linear) and m.weight().dtype == torch.qint8 for m in hidden
    )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (no GPU on this machine)")
def test_cuda_matches_cpu():
    cpu = Lifter.load(DEFAULT_CHECKPOINT, "cpu", "fp32")
    gpu = Lifter.load(DEFAULT_CHECKPOINT, "cuda", "fp32")
    X_rel, kp, conf, K = _data(256, 3)
    np.testing.assert_allclose(gpu.lift(kp, conf, K), cpu.lift(kp, conf, K), atol=1e-4)
    if native_bf16(gpu.device):
        gpu16 = Lifter.load(DEFAULT_CHECKPOINT, "cuda", "bf16")
        assert np.abs(gpu16.lift(kp, conf, K) - cpu.lift(kp, conf, K)).max() < 0.02


def test_shipped_weights_carry_codec_provenance_and_licence():
    """The default weights allow commercial use (no Bandai); the non-commercial option beside
    them says it is one; LICENSE.md credits every lab of both."""
    assert os.path.isfile(DEFAULT_CHECKPOINT), "the shipped weights are part of the package"
    blob = load_checkpoint(DEFAULT_CHECKPOINT)
    assert blob["codec"]["joint_names"] == list(JOINT_NAMES)
    prov = blob["provenance"]
    assert sorted(prov["datasets"]) == ["accad", "cmu", "hdm05"]
    for name, credit in (
        ("accad", "ACCAD MoCap Library"),
        ("hdm05", "HDM05"),
        ("cmu", "mocap.cs.cmu.edu"),
    ):
        assert credit in prov["attribution"] and credit in prov["datasets"][name]["attribution"]
    assert "non-commercial" not in prov["licence"] and "CC BY-SA 3.0" in prov["licence"]
    assert blob["hparams"]["width"] == 1024 and blob["hparams"]["num_blocks"] == 2
    folder = os.path.dirname(DEFAULT_CHECKPOINT)
    nc = load_checkpoint(os.path.join(folder, "lifter_noncommercial.pt"))["provenance"]
    assert "bandai" in nc["datasets"] and "non-commercial" in nc["licence"]
    prior = torch.load(os.path.join(folder, "pose_prior_2d.pt"), weights_only=False)
    assert "bandai" not in prior["info"]["datasets"]  # the prior ships with the default's terms
    licence = open(os.path.join(folder, "LICENSE.md")).read()
    for text in (
        "a company may use and ship these weights",
        "CC BY 3.0",
        "CC BY-SA 3.0",
        "ACCAD",
        "HDM05",
        "mocap.cs.cmu.edu",
        "NSF EIA-0196217",
        "lifter_noncommercial.pt",
        "CC BY-NC 4.0",
        "non-commercial use only",
    ):
        assert text in licence, text


def test_fused_inference_model_equals_eval_model():
    from pose_lifting_core.model import FusedInference

    m = LinearModel(20, 9, width=64, num_blocks=2)
    m.train()
    for _ in range(5):  # give batch norm non-trivial running statistics
        m(torch.randn(256, 20) * 3 + 1)
    m.eval()
    x = torch.randn(100, 20)
    with torch.no_grad():
        torch.testing.assert_close(FusedInference(m)(x), m(x), atol=1e-5, rtol=1e-5)


def test_small_batches_lift_on_one_thread_and_restore_the_thread_count(monkeypatch):
    from pose_lifting_core.lifter import SINGLE_THREAD_MAX

    lifter = Lifter.load(DEFAULT_CHECKPOINT, "cpu", "fp32")
    seen = []
    real = lifter.model.forward
    monkeypatch.setattr(
        lifter.model, "forward", lambda x: (seen.append(torch.get_num_threads()), real(x))[1]
    )
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        lifter.forward(torch.zeros(SINGLE_THREAD_MAX, lifter.codec.in_dim))
        lifter.forward(torch.zeros(SINGLE_THREAD_MAX + 1, lifter.codec.in_dim))
        assert seen == [1, 2] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_read_only_inputs_lift_without_a_warning():
    """Keypoints in read-only memory (a broadcast view, a message buffer) go through the
    torch-based codec and root solve quietly and unchanged."""
    import warnings

    from pose_lifting_core.codec import features_raw
    from pose_lifting_core.solvers import solve_root

    rng = np.random.default_rng(0)
    kp = rng.uniform(100, 500, (1, 17, 2))
    conf = np.ones((1, 17))
    K = np.array([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]])
    ro = np.broadcast_to(kp, (3, 17, 2))
    assert not ro.flags.writeable
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = features_raw(ro, np.ones((3, 17)), K)
        T = solve_root(np.zeros((3, 17, 3)) + [0, 0, 0.1], ro, np.ones((3, 17)), K)
    np.testing.assert_array_equal(f[0], features_raw(kp, conf, K)[0])
    assert np.isfinite(T).all() and not ro.flags.writeable
