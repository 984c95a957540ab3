"""Self-supervised adaptation (issue 16): the core maths on float32 tensors, each loss on tiny data
with a known answer, the 2D prior, the adaptation loop, checkpoint round trips and CLI errors."""

import dataclasses

import numpy as np
import pytest
import torch

from pose_lifting_core.tooling import selfsup
from pose_lifting_core.tooling.adapt import (
    AdaptConfig,
    AdaptData,
    adapt,
    fit_pose_prior,
    gather_inputs,
    save_adapted,
    save_pose_prior,
)
from pose_lifting_core.camera import project
from pose_lifting_core.checkpoint import load_model, save_checkpoint
from pose_lifting_core.codec import Codec, features_raw
from pose_lifting_core.lifter import Lifter
from pose_lifting_core.model import LinearModel
from pose_lifting_core.solvers import person_size_px, solve_root
from pose_lifting_core.tooling.cli import main
from pose_lifting_core.tooling.data.synth import rotation_about
from pose_lifting_core.tooling.evaluate import split_clips
from pose_lifting_core.tooling.lift_io import read_lift_input, write_lift_input
from conftest import STANDING

K = np.array([[1000.0, 0, 640], [0, 1000, 360], [0, 0, 1]])


def _people(n=8, seed=0):
    """n standing people (camera frame, metres) with small pose noise, 3-6 m away."""
    rng = np.random.default_rng(seed)
    X = STANDING[None] + rng.normal(0, 0.02, (n, 17, 3))
    X = X - X[:, :1]
    T = np.stack([rng.uniform(-0.5, 0.5, n), rng.uniform(0, 0.3, n), rng.uniform(3, 6, n)], -1)
    return X, T


def _t(a):
    return torch.as_tensor(np.asarray(a), dtype=torch.float64)


@pytest.fixture()
def tiny_ckpt(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(0, 0.3, (200, 17, 3)) + np.array([0, 0, 5.0])
    codec = Codec.fit(features_raw(project(X, K), np.ones((200, 17)), K), X - X[:, :1])
    path = str(tmp_path / "tiny.pt")
    torch.manual_seed(0)
    model = LinearModel(codec.in_dim, codec.out_dim, 16, 1)
    save_checkpoint(path, model, codec, {"max_norm": 1.0}, {"licence": "test"})
    return path


@pytest.fixture()
def tiny_prior(tmp_path):
    path = str(tmp_path / "prior.pt")
    prior = selfsup.PosePrior2D(2 * len(selfsup.PRIOR_JOINTS), layers=2, hidden=8)
    prior.bone_limits[:, 1] = 10.0
    save_pose_prior(path, prior, {})
    return path


# --- the core maths on tensors ----------------------------------------------------------------
def test_codec_root_solve_and_projection_take_float32_tensors():
    """Adaptation runs the one implementation on float32 tensors: the same values as on numpy
    float64, as tensors."""
    X, T = _people(6)
    Ks = np.stack([K * [[1 + 0.1 * i], [1 + 0.1 * i], [1]] for i in range(6)])
    Ks[:, 2, 2] = 1.0
    kp = project(X + T[:, None], Ks) + np.random.default_rng(1).normal(0, 2, (6, 17, 2))
    conf = np.ones((6, 17))
    conf[0, [7, 9]] = 0.0  # detector layout
    conf[1, 0] = 0.0  # no pelvis: the weighted mean is the centre
    conf[2] = 0.5

    def f32(a):
        return torch.as_tensor(a, dtype=torch.float32)

    f_np = features_raw(kp, conf, Ks)
    f_t = features_raw(f32(kp), f32(conf), f32(Ks))
    assert f_t.dtype == torch.float32
    np.testing.assert_allclose(f_t.numpy(), f_np, rtol=1e-4, atol=1e-5)
    T_t = solve_root(f32(X), f32(kp), f32(conf), f32(Ks))
    np.testing.assert_allclose(T_t.numpy(), solve_root(X, kp, conf, Ks), rtol=1e-4)
    np.testing.assert_allclose(
        project(f32(X + T[:, None]), f32(Ks)).numpy(), project(X + T[:, None], Ks), rtol=1e-5
    )
    codec = Codec.fit(f_np, X)
    np.testing.assert_allclose(
        codec.encode(f32(kp), f32(conf), f32(Ks)).numpy(), codec.encode(kp, conf, Ks), atol=1e-3
    )
    out = np.random.default_rng(2).normal(size=(6, 51)).astype(np.float32)
    np.testing.assert_allclose(
        codec.decode(torch.from_numpy(out)).numpy(), codec.decode(out), atol=1e-5
    )


def test_torch_root_solve_is_differentiable_and_exact_on_exact_data():
    X, T = _people(4)
    kp = project(X + T[:, None], K)
    Xt = _t(X).requires_grad_(True)
    Tt = solve_root(Xt, _t(kp), torch.ones(4, 17, dtype=torch.float64), _t(np.tile(K, (4, 1, 1))))
    np.testing.assert_allclose(Tt.detach().numpy(), T, atol=1e-6)
    Tt.sum().backward()
    assert torch.isfinite(Xt.grad).all() and Xt.grad.abs().sum() > 0


# --- losses with known answers ----------------------------------------------------------------
def test_reprojection_loss_is_zero_on_exact_data_and_the_known_shift_otherwise():
    X, T = _people(3)
    Ks = _t(np.tile(K, (3, 1, 1)))
    kp = project(X + T[:, None], K)
    conf = torch.ones(3, 17, dtype=torch.float64)
    Xc = _t(X + T[:, None])
    assert selfsup.reprojection_loss(Xc, _t(kp), conf, Ks).abs().max() < 1e-9
    size = person_size_px(_t(kp), conf).numpy()
    shifted = kp + np.array([3.0, 4.0])  # every joint 5 px off
    got = selfsup.reprojection_loss(Xc, _t(shifted), conf, Ks).numpy()
    np.testing.assert_allclose(got, 5.0 / size, rtol=1e-6)
    # a joint with confidence 0 does not count
    bad = kp.copy()
    bad[:, 3] += 100.0
    conf0 = conf.clone()
    conf0[:, 3] = 0.0
    assert selfsup.reprojection_loss(Xc, _t(bad), conf0, Ks).abs().max() < 1e-9


def test_rotations_are_proper_and_keep_their_axis():
    axis = _t(np.random.default_rng(0).normal(size=(5, 3)))
    R = rotation_about(axis, _t(np.linspace(-3, 3, 5)))
    eye = torch.eye(3, dtype=torch.float64).expand(5, 3, 3)
    assert torch.allclose(R @ R.transpose(1, 2), eye, atol=1e-12)
    assert torch.allclose(torch.linalg.det(R), torch.ones(5, dtype=torch.float64))
    unit = axis / axis.norm(dim=-1, keepdim=True)
    assert torch.allclose((R @ unit[..., None])[..., 0], unit, atol=1e-12)


def _oracle(X_true, T, Ks, R):
    """A lifter that is right: it returns the true root-relative skeleton of whichever view it
    is shown (the original one, or the one turned by R)."""
    views = [X_true, X_true @ R.transpose(1, 2)]

    def lift(uv, w, K):
        for V in views:
            if torch.allclose(uv, project(V + T[:, None], K, min_depth=1e-3), atol=1e-6):
                return V
        raise AssertionError("the oracle was shown a view it does not know")

    return lift


def test_cycle_loss_is_zero_for_a_correct_lifter_and_not_for_a_wrong_one():
    X, T = _people(4)
    Xt, Tt, Ks = _t(X), _t(T), _t(np.tile(K, (4, 1, 1)))
    R = rotation_about(selfsup.body_up_axis(Xt), _t([0.5, 1.5, -2.0, 3.0]))
    conf = torch.ones(4, 17, dtype=torch.float64)
    loss, uv_r = selfsup.cycle_loss(_oracle(Xt, Tt, Ks, R), Xt, Tt, conf, Ks, R)
    assert loss.abs().max() < 1e-12
    assert torch.allclose(uv_r, project(Xt @ R.transpose(1, 2) + Tt[:, None], Ks, min_depth=1e-3))
    # a lifter that ignores the view (always the first pose) fails the cycle: the known answer
    # is the mean distance between X and X turned back by R
    loss, _ = selfsup.cycle_loss(lambda uv, w, K: Xt, Xt, Tt, conf, Ks, R)
    expect = (Xt @ R - Xt).norm(dim=-1).mean(-1)
    assert torch.allclose(loss, expect) and (loss > 0.01).all()


def test_bone_losses_known_answers():
    X = _t(STANDING[None])
    wide = torch.tensor([[0.0, 10.0]], dtype=torch.float64).expand(len(selfsup.BONES), 2)
    sym, lim = selfsup.bone_losses(X, wide)
    assert sym.item() < 1e-12 and lim.item() == 0.0
    longer = X.clone()
    longer[0, 3, 1] += 0.12  # right ankle 12 cm lower: the right shin is 12 cm longer
    sym, _ = selfsup.bone_losses(longer, wide)
    assert sym.item() == pytest.approx(0.12 / len(selfsup.SYMMETRIC_BONES))
    L = selfsup.bone_lengths(X)[0]
    tight = torch.stack([L + 0.05, L + 0.1], -1)  # every bone 5 cm below its lower limit
    _, lim = selfsup.bone_losses(X, tight)
    assert lim.item() == pytest.approx(0.05)


def test_anchor_loss_known_answer():
    X, _ = _people(2)
    assert selfsup.anchor_loss(_t(X), _t(X)).abs().max() == 0
    moved = X + np.array([0.03, 0.0, 0.04])
    np.testing.assert_allclose(selfsup.anchor_loss(_t(moved), _t(X)).numpy(), 0.05)


# --- the 2D prior -----------------------------------------------------------------------------
def test_prior_flow_is_invertible_and_its_density_is_exact():
    torch.manual_seed(0)
    prior = selfsup.PosePrior2D(6, layers=4, hidden=8)
    x = torch.randn(20, 6)
    assert torch.allclose(prior.log_prob(x), torch.distributions.Normal(0, 1).log_prob(x).sum(-1))
    for p in prior.parameters():  # a non-trivial flow: still invertible, density by change of
        p.data.normal_(0, 0.3)  # variables matches a numerical Jacobian
    z, logdet = prior(x)
    assert torch.allclose(prior.inverse(z), x, atol=1e-5)
    jac = torch.autograd.functional.jacobian(lambda v: prior(v[None])[0][0], x[0])
    assert logdet[0].item() == pytest.approx(torch.linalg.slogdet(jac)[1].item(), abs=1e-4)


def test_fitted_prior_prefers_people_to_scrambled_people():
    rng = np.random.default_rng(0)
    world = STANDING * [1, -1, 1] + [0, 1.0, 0]  # Y up
    P = world[None] + rng.normal(0, 0.03, (300, 17, 3))
    prior = fit_pose_prior(P, samples=3000, epochs=3, batch_size=256)
    X, T = _people(50, seed=3)
    kp = torch.as_tensor(project(X + T[:, None], K), dtype=torch.float32)
    scrambled = kp.clone()
    scrambled[:, [3, 6, 13, 16]] = kp[:, [13, 16, 3, 6]]  # ankles and wrists swapped
    real = selfsup.prior_loss(prior, kp)
    fake = selfsup.prior_loss(prior, scrambled)
    assert (real < fake).float().mean() > 0.95
    lo, hi = prior.bone_limits.unbind(-1)
    L = selfsup.bone_lengths(torch.as_tensor(X, dtype=torch.float32))
    assert ((L >= lo) & (L <= hi)).float().mean() > 0.9


# --- the loop, checkpoints and the CLI --------------------------------------------------------
def _data(n=64, known=True):
    X, T = _people(n, seed=5)
    kp = project(X + T[:, None], K)
    Ks = np.tile(K, (n, 1, 1)) if known else np.zeros((n, 3, 3))
    return AdaptData(kp, np.ones((n, 17)), Ks, np.full(n, known), None if known else (1280, 720))


def test_adaptation_is_seeded_moves_the_weights_and_round_trips(tiny_ckpt, tiny_prior, tmp_path):
    from pose_lifting_core.tooling.adapt import load_pose_prior

    model, codec, info = load_model(tiny_ckpt)
    prior = load_pose_prior(tiny_prior)
    cfg = AdaptConfig(epochs=2, batch_size=16, lr=1e-3)
    a = adapt(model, codec, _data(), prior, cfg, progress=False)
    b = adapt(model, codec, _data(), prior, cfg, progress=False)
    for (k, va), vb in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(va, vb), k
    moved = [
        k for k, v in model.state_dict().items() if not torch.equal(v, a.model.state_dict()[k])
    ]
    assert moved  # the copy moved; the starting model did not (it was copied)
    assert len(a.history) == 2 and a.focal is None
    out = str(tmp_path / "adapted.pt")
    save_adapted(out, a, codec, info, cfg, ["in.npz"])
    lifter = Lifter.load(out, "cpu", "fp32")
    assert lifter.info["extra"]["adaptation"]["poses"] == 64
    assert lifter.info["provenance"] == info["provenance"]
    m2, _, _ = load_model(out)
    for k, v in a.model.state_dict().items():
        assert torch.equal(v, m2.state_dict()[k]), k


def test_no_data_term_rewards_a_smaller_or_larger_body(tiny_ckpt, tiny_prior):
    """The 2D cannot tell a body's size (one twice as large and twice as far projects the same),
    so scaling every lift of the student changes no term that comes from the 2D (reprojection,
    cycle, prior) nor symmetry: only the anchor and the bone limits speak for a size. (Cycle and
    symmetry in plain metres rewarded shrinking: adapted bodies came out 5 % smaller.)"""
    import copy

    from pose_lifting_core.tooling.adapt import _Problem, load_pose_prior

    model, codec, _ = load_model(tiny_ckpt)
    model = model.float().eval()
    X, _ = _people(16, seed=5)  # the people of _data(16)
    wrong = X + np.random.default_rng(1).normal(0, 0.03, X.shape)  # 3 cm off, per joint
    wrong -= wrong[:, :1]  # root-relative

    class Scaled(_Problem):
        """A student whose every lift is `factor` times a fixed, slightly wrong skeleton (it
        ignores the view, so the cycle is not closed); the teacher gives the true one."""

        factor = 1.0

        def lift(self, net):
            out = wrong * self.factor if net is self.student else X
            return lambda uv, w, K: torch.as_tensor(out[: len(uv)], dtype=torch.float32)

    prob = Scaled(
        model,
        copy.deepcopy(model),
        codec,
        load_pose_prior(tiny_prior),
        _data(16),
        AdaptConfig(),
        torch.tensor(0.0),
    )
    idx, angles = torch.arange(16), torch.linspace(-2.0, 2.0, 16)
    same = prob.losses(idx, angles)
    prob.factor = 2.0
    double = prob.losses(idx, angles)
    for k in ("reprojection", "cycle", "prior", "symmetry"):
        assert (same[k].abs() > 1e-4).all(), k  # each term has something to say
        torch.testing.assert_close(double[k], same[k], rtol=1e-4, atol=1e-6, msg=k)
    assert (double["anchor"] > same["anchor"]).all()


def test_focal_refinement_starts_pooled_and_only_the_prior_pulls_without_data_terms(
    tiny_ckpt, tiny_prior
):
    """It starts from the pooled estimate fused with the prior; with every data term off, only
    the prior's pull is left, so f moves from there towards the prior and never past it."""
    import math

    from pose_lifting_core.tooling.adapt import load_pose_prior

    model, codec, _ = load_model(tiny_ckpt)
    zero = dict(w_reprojection=0, w_cycle=0, w_prior=0, w_symmetry=0, w_limits=0, w_anchor=0)
    cfg = AdaptConfig(epochs=2, batch_size=16, focal="refine", **zero)
    r = adapt(model, codec, _data(known=False), load_pose_prior(tiny_prior), cfg, progress=False)
    prior, pooled, refined = (
        math.log(v) for v in (r.focal.prior_px, r.focal.pooled_px, r.focal.refined_px)
    )
    assert abs(pooled - prior) > 0.05  # the tiny model's pooled estimate is off the prior
    assert min(prior, pooled) <= refined <= max(prior, pooled)
    still = dataclasses.replace(cfg, focal_lr=0.0)
    prior_2d = load_pose_prior(tiny_prior)
    r0 = adapt(model, codec, _data(known=False), prior_2d, still, progress=False)
    assert abs(refined - prior) < abs(math.log(r0.focal.refined_px) - prior)
    assert np.isfinite(r.focal.rel_sd) and r.focal.num_samples == 64
    with pytest.raises(ValueError, match="refine needs inputs without K"):
        adapt(model, codec, _data(), load_pose_prior(tiny_prior), cfg, progress=False)


def test_split_clips_halves_are_disjoint_and_cover_the_mask():
    clip = np.repeat(np.arange(10), 5)
    mask = clip != 9
    a, b = split_clips(clip, mask, np.random.default_rng(0))
    assert not (a & b).any() and ((a | b) == mask).all()
    assert not set(clip[a]) & set(clip[b]) and len(set(clip[a])) == 4


def test_keypoints_file_round_trips(tmp_path):
    X, T = _people(3)
    kp = project(X + T[:, None], K)
    path = write_lift_input(str(tmp_path / "kp"), kp, np.full((3, 17), 0.9), (1280, 720), None)
    inp = read_lift_input(path)
    assert inp.K is None and inp.image_size == (1280, 720) and inp.layout == "h36m17"
    np.testing.assert_allclose(inp.keypoints, kp)
    path = write_lift_input(
        str(tmp_path / "kpk.npz"), kp, np.ones((3, 17)), (1280, 720), np.tile(K, (3, 1, 1))
    )
    np.testing.assert_allclose(read_lift_input(path).K, np.tile(K, (3, 1, 1)))
    data = gather_inputs([read_lift_input(path), inp], ["a", "b"])
    assert data.known.tolist() == [True] * 3 + [False] * 3 and data.image_size == (1280, 720)


def _kp_file(tmp_path, name, known=True, size=(1280, 720)):
    X, T = _people(40, seed=7)
    return write_lift_input(
        str(tmp_path / name),
        project(X + T[:, None], K),
        np.ones((40, 17)),
        size,
        np.tile(K, (40, 1, 1)) if known else None,
    )


def test_cli_adapt_writes_a_checkpoint_that_lift_loads(tiny_ckpt, tiny_prior, tmp_path, capsys):
    a = _kp_file(tmp_path, "a.npz", known=False)
    out = str(tmp_path / "adapted.pt")
    rc = main(["adapt", a, "--output", out, "--checkpoint", tiny_ckpt, "--prior", tiny_prior,
               "--epochs", "1", "--focal", "refine", "--quiet"])  # fmt: skip
    text = capsys.readouterr().out
    assert rc == 0 and "focal length:" in text and "bootstrap sd" in text
    rc = main(["lift", "--keypoints", a, "--output", str(tmp_path / "o.npz"), "--checkpoint", out])
    assert rc == 0


@pytest.mark.parametrize(
    "case, needle",
    [
        ("missing", "input file not found"),
        ("refine_known", "--focal refine needs inputs without K"),
        ("two_cameras", "one static camera"),
        ("bad_prior", "2D pose prior not found"),
        ("bad_checkpoint", "checkpoint not found"),
        ("output_folder", "is a folder"),
    ],
)
def test_cli_adapt_errors_are_one_line_exit_2(
    case, needle, tiny_ckpt, tiny_prior, tmp_path, capsys
):
    a = _kp_file(tmp_path, "a.npz", known=case != "two_cameras")
    args = [
        a,
        "--output",
        str(tmp_path / "x.pt"),
        "--checkpoint",
        tiny_ckpt,
        "--prior",
        tiny_prior,
    ]
    if case == "missing":
        args[0] = str(tmp_path / "nope.npz")
    elif case == "refine_known":
        args += ["--focal", "refine"]
    elif case == "two_cameras":
        args.insert(1, _kp_file(tmp_path, "b.npz", known=False, size=(640, 480)))
    elif case == "bad_prior":
        args[-1] = str(tmp_path / "none.pt")
    elif case == "bad_checkpoint":
        args[4] = str(tmp_path / "none.pt")
    elif case == "output_folder":
        args[2] = str(tmp_path)
    rc = main(["adapt", *args, "--quiet"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and needle in err and "\n" not in err, err


def test_an_adaptation_that_diverges_stops_in_one_line_and_saves_nothing(
    tiny_ckpt, tiny_prior, tmp_path, capsys
):
    """`adapt --lr 1e6` saved a NaN checkpoint with exit 0; it stops at the first step whose
    loss or weights are not finite, in one line with exit 2, and writes nothing."""
    a = _kp_file(tmp_path, "a.npz")
    out = tmp_path / "adapted.pt"
    rc = main(["adapt", a, "--output", str(out), "--checkpoint", tiny_ckpt, "--prior", tiny_prior,
               "--lr", "1e6", "--epochs", "3", "--quiet"])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "\n" not in err, err
    assert "pose-lifting adapt: error: adaptation diverged at epoch" in err
    assert "nothing was saved (try a smaller learning rate than 1e+06)" in err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == [
        "a.npz", "prior.pt", "tiny.pt",
    ]  # fmt: skip


@pytest.mark.parametrize("where", ["loss", "weights"])
def test_adaptation_stops_at_the_first_non_finite_loss_or_weight(
    where, tiny_ckpt, tiny_prior, monkeypatch
):
    """Whichever goes first, a loss term (here the anchor) or a weight after the optimiser's step,
    the adaptation stops there and says which."""
    from pose_lifting_core.tooling import adapt as adapt_module
    from pose_lifting_core.tooling.adapt import AdaptError, load_pose_prior

    if where == "loss":
        monkeypatch.setattr(selfsup, "anchor_loss", lambda X, X0: torch.full((len(X),), np.nan))
        want = r"epoch 1, step 1: the loss is nan \(terms: anchor\)"
    else:

        def overflow(model, max_norm):
            with torch.no_grad():
                next(model.parameters()).view(-1)[:2] = float("inf")

        monkeypatch.setattr(adapt_module, "apply_max_norm", overflow)
        want = r"epoch 1, step 1: the weights have 2 NaN or infinite values, in inp.0.weight"
    model, codec, _ = load_model(tiny_ckpt)
    with pytest.raises(AdaptError, match=want):
        adapt(model, codec, _data(), load_pose_prior(tiny_prior), AdaptConfig(epochs=1),
              progress=False)  # fmt: skip
