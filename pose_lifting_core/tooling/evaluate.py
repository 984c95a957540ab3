"""Evaluation on held-out motion capture seen through virtual cameras.

Owns: the evaluation protocol and its report. Conditions: held-out clips (`test`) and held-out
motion content (`content_test`); the training camera ranges and camera ranges never seen in
training (`heldout_*` in data/synth.py); exact 2D and 2D with Gaussian pixel noise; the full
17-joint input (`h36m17`) and the detector layout (`coco17`: spine and neck absent); known K,
and unknown K handled by the field-of-view prior or by the pooled focal estimate.
Metrics: MPJPE, PA-MPJPE, root position error (absolute and relative to camera distance),
focal-estimate error, per-joint error.

Leave-one-lab-out: a model trained on two of the three labs is scored on every frame of the
third (people, skeleton definitions and poses it never saw), per pose category, with exact 2D
and known K (so the error is the lifter's own), and with 2D noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Sequence

import numpy as np

from pose_lifting_core.camera import DEFAULT_HFOV_DEG, intrinsics_from_fov
from pose_lifting_core.lifter import Lifter
from pose_lifting_core.skeleton import JOINT_NAMES, ROOT
from pose_lifting_core.solvers import estimate_focal, fuse_focal, solve_root
from pose_lifting_core.tooling.data import synth
from pose_lifting_core.tooling.data.mocap import MocapSet
from pose_lifting_core.tooling.data.poses import CATEGORIES, pose_categories
from pose_lifting_core.tooling.metrics import (
    mpjpe_mm,
    n_mpjpe_mm,
    pa_mpjpe_mm,
    per_joint_error,
    root_error,
    size_ratio,
)

J = {n: i for i, n in enumerate(JOINT_NAMES)}


@dataclass(frozen=True)
class EvalConfig:
    """Evaluation settings: sample counts, pixel noise, seed, field-of-view prior, scenes."""

    samples: int = 20_000
    noise_px: float = 5.0
    seed: int = 1234
    hfov_prior_deg: float = DEFAULT_HFOV_DEG
    scenes: int = 30
    scene_people: int = 64
    heldout_content: Sequence[str] = ()
    samples_per_category: int = 5_000


def _layout_conf(n: int, layout: str) -> np.ndarray:
    conf = np.ones((n, len(JOINT_NAMES)))
    if layout == "coco17":
        conf[:, [J[j] for j in synth.DETECTOR_MISSING]] = 0.0
    return conf


def _score(
    lifter: Lifter, views: synth.Views, kp: np.ndarray, conf: np.ndarray, K: np.ndarray
) -> Dict[str, Any]:
    res = lifter.estimate(kp, conf, K)
    gt = views.joints_cam
    gt_rel = gt - gt[:, ROOT : ROOT + 1]
    rerr = root_error(res.root, gt[:, ROOT])
    return {
        "mpjpe_mm": mpjpe_mm(res.joints_rel, gt_rel),
        "pa_mpjpe_mm": pa_mpjpe_mm(res.joints_rel, gt_rel),
        "root_err_median_mm": float(np.median(rerr) * 1000),
        "root_err_median_pct_of_distance": float(
            np.median(rerr / np.linalg.norm(gt[:, ROOT], axis=-1)) * 100
        ),
        "reproj_err_median_px": float(np.nanmedian(res.reprojection_error_px)),
        "per_joint_mm": dict(
            zip(
                JOINT_NAMES,
                (per_joint_error(res.joints_rel, gt_rel).mean(0) * 1000).round(1).tolist(),
            )
        ),
        "n": int(len(kp)),
    }


def _draw(P: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    return P[rng.choice(len(P), min(n, len(P)), replace=False)].astype(np.float64)


def evaluate_known_k(lifter: Lifter, data: MocapSet, cfg: EvalConfig) -> List[Dict[str, Any]]:
    """Known-K conditions: every split x camera range x noise x layout."""
    splits = data.splits(cfg.heldout_content)
    rows = []
    plan = [("test", r) for r in synth.CAMERA_RANGES] + [("content_test", "train")]
    for split, cam in plan:
        if not splits[split].any():
            continue
        rng = np.random.default_rng([cfg.seed, len(rows)])
        views = synth.sample_views(
            _draw(data.positions[splits[split]], cfg.samples, rng), rng, synth.CAMERA_RANGES[cam]
        )
        for noise in (0.0, cfg.noise_px):
            kp = views.keypoints + rng.standard_normal(views.keypoints.shape) * noise
            for layout in ("h36m17", "coco17"):
                row = {
                    "split": split,
                    "cameras": cam,
                    "noise_px": noise,
                    "layout": layout,
                    "K": "known",
                }
                row.update(_score(lifter, views, kp, _layout_conf(len(kp), layout), views.K))
                rows.append(row)
    return rows


# Scenes for the unknown-K evaluation: the camera ranges of data/synth.py, plus "typical_lens",
# the training ranges with the focal length given by a horizontal field of view of 50-90 degrees
# (webcams and robot RGB cameras).
UNKNOWN_K_SCENES = ("train", "heldout_focal", "typical_lens")


def evaluate_unknown_k(lifter: Lifter, data: MocapSet, cfg: EvalConfig) -> List[Dict[str, Any]]:
    """Unknown-K conditions on held-out clips. Each scene is one camera (one K, principal point
    within 1 % of the centre) seeing `scene_people` people/frames. Compared against the true K:
    the field-of-view prior, the pooled focal estimate, and their precision-weighted fusion."""
    splits = data.splits(cfg.heldout_content)
    P_test = data.positions[splits["test"]]
    rows = []
    for cam in UNKNOWN_K_SCENES:
        rng = np.random.default_rng([cfg.seed, 99, len(rows)])
        ranges = dict(synth.CAMERA_RANGES["train" if cam == "typical_lens" else cam])
        acc = {k: {"f": [], "root": [], "mp": []} for k in ("prior", "pooled", "fused")}
        rel_sd = []
        for _ in range(cfg.scenes):
            size = tuple(int(v) for v in synth.IMAGE_SIZES[rng.integers(len(synth.IMAGE_SIZES))])
            if cam == "typical_lens":
                f = 0.5 * size[0] / np.tan(np.radians(rng.uniform(50.0, 90.0)) / 2)
            else:
                f = float(np.exp(rng.uniform(*np.log(ranges["focal_px"]))))
            r = dict(ranges, focal_px=(f, f))
            views = synth.sample_views(
                _draw(P_test, cfg.scene_people, rng),
                rng,
                r,
                image_size=size,
                principal_jitter=0.01,
            )
            kp = views.keypoints + rng.standard_normal(views.keypoints.shape) * cfg.noise_px
            conf = _layout_conf(len(kp), "coco17")
            gt = views.joints_cam
            prior = intrinsics_from_fov(size[0], size[1], cfg.hfov_prior_deg)
            est = estimate_focal(lifter.lift, kp, conf, size)
            rel_sd.append(est.rel_sd)
            for name, fx in (
                ("prior", prior.fx),
                ("pooled", est.f_px),
                ("fused", fuse_focal(prior.fx, est)),
            ):
                K = np.array([[fx, 0, size[0] / 2], [0, fx, size[1] / 2], [0, 0, 1.0]])
                X_rel = lifter.lift(kp, conf, K)
                T = solve_root(X_rel, kp, conf, K)
                acc[name]["f"].append(abs(fx - f) / f)
                acc[name]["root"].extend(
                    root_error(T, gt[:, ROOT]) / np.linalg.norm(gt[:, ROOT], axis=-1)
                )
                acc[name]["mp"].append(mpjpe_mm(X_rel, gt - gt[:, ROOT : ROOT + 1]))
        for name, a in acc.items():
            rows.append(
                {
                    "split": "test",
                    "cameras": cam,
                    "noise_px": cfg.noise_px,
                    "layout": "coco17",
                    "K": f"unknown ({name})",
                    "scenes": cfg.scenes,
                    "people_per_scene": cfg.scene_people,
                    "focal_err_median_pct": float(np.median(a["f"]) * 100),
                    "root_err_median_pct_of_distance": float(np.median(a["root"]) * 100),
                    "mpjpe_mm": float(np.mean(a["mp"])),
                    **(
                        {"focal_rel_sd_median_pct": float(np.median(rel_sd) * 100)}
                        if name != "prior"
                        else {}
                    ),
                }
            )
    return rows


def report_markdown(rows: List[Dict[str, Any]]) -> str:
    """The rows as Markdown tables (known K, then unknown K)."""
    known = [r for r in rows if r["K"] == "known"]
    out = [
        "| split | cameras | 2D noise (px) | input layout | MPJPE (mm) | PA-MPJPE (mm) "
        "| root err median (mm) | root err median (% of distance) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in known:
        out.append(
            f"| {r['split']} | {r['cameras']} | {r['noise_px']:g} | {r['layout']} | "
            f"{r['mpjpe_mm']:.1f} | {r['pa_mpjpe_mm']:.1f} | {r['root_err_median_mm']:.0f} | "
            f"{r['root_err_median_pct_of_distance']:.2f} |"
        )
    unk = [r for r in rows if r["K"] != "known"]
    if unk:
        out += [
            "",
            "| cameras | K | focal err median (%) | root err median (% of distance) | MPJPE (mm) "
            "| bootstrap sd of f (median %) |",
            "|---|---|---|---|---|---|",
        ]
        for r in unk:
            sd = f"{r['focal_rel_sd_median_pct']:.1f}" if "focal_rel_sd_median_pct" in r else "-"
            out.append(
                f"| {r['cameras']} | {r['K']} | {r['focal_err_median_pct']:.1f} | "
                f"{r['root_err_median_pct_of_distance']:.2f} | {r['mpjpe_mm']:.1f} | {sd} |"
            )
    return "\n".join(out)


def _lab_row(
    lifter: Lifter,
    P: np.ndarray,
    rng: np.random.Generator,
    noise_px: float,
    cameras: str = "typical",
) -> Dict[str, Any]:
    """Exact-2D and noisy-2D scores of world skeletons P (N, 17, 3) seen through cameras of the
    range `cameras` (data/synth.py), known K, all 17 joints given."""
    views = synth.sample_views(P, rng, synth.CAMERA_RANGES[cameras])
    conf = _layout_conf(len(views.keypoints), "h36m17")
    exact = _score(lifter, views, views.keypoints, conf, views.K)
    noisy = views.keypoints + rng.standard_normal(views.keypoints.shape) * noise_px
    res = lifter.lift(noisy, conf, views.K)
    gt_rel = views.joints_cam - views.joints_cam[:, ROOT : ROOT + 1]
    return {
        "n": exact["n"],
        "mpjpe_mm": exact["mpjpe_mm"],
        "pa_mpjpe_mm": exact["pa_mpjpe_mm"],
        "root_err_median_pct_of_distance": exact["root_err_median_pct_of_distance"],
        "mpjpe_noise_mm": mpjpe_mm(res, gt_rel),
        "noise_px": noise_px,
    }


def evaluate_lab(
    lifter: Lifter, data: MocapSet, cfg: EvalConfig, mask: np.ndarray | None = None
) -> List[Dict[str, Any]]:
    """Per-category rows for one dataset's frames (all of them, or `mask`), seen through
    `typical` cameras (the earlier training range, so rounds compare): a row 'all' with up to
    `samples` frames drawn uniformly, then one per category present with up to
    `samples_per_category` of its frames, then 'all, steep cameras' (views from above, 45-65
    degrees). Each row says how many frames the category has."""
    P_all = data.positions if mask is None else data.positions[mask]
    cats = pose_categories(P_all)
    rows = []
    rng = np.random.default_rng([cfg.seed, 7])
    row = {"dataset": data.dataset, "category": "all", "frames": int(len(P_all))}
    row.update(_lab_row(lifter, _draw(P_all, cfg.samples, rng), rng, cfg.noise_px))
    rows.append(row)
    for c, name in enumerate(CATEGORIES):
        sel = cats == c
        if not sel.any():
            continue
        row = {"dataset": data.dataset, "category": name, "frames": int(sel.sum())}
        row.update(
            _lab_row(lifter, _draw(P_all[sel], cfg.samples_per_category, rng), rng, cfg.noise_px)
        )
        rows.append(row)
    row = {"dataset": data.dataset, "category": "all, steep cameras", "frames": int(len(P_all))}
    row.update(_lab_row(lifter, _draw(P_all, cfg.samples, rng), rng, cfg.noise_px, "steep"))
    rows.append(row)
    return rows


def lab_report_markdown(rows: List[Dict[str, Any]], title: str = "held-out lab") -> str:
    """Rows of `evaluate_lab` (several datasets) as one Markdown table."""
    out = [
        f"| {title} | pose | frames | MPJPE (mm) | PA-MPJPE (mm) "
        f"| root err median (% of distance) | MPJPE, {rows[0]['noise_px']:g} px noise (mm) |"
        if rows
        else "",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(
            f"| {r['dataset']} | {r['category']} | {r['frames']} | {r['mpjpe_mm']:.1f} | "
            f"{r['pa_mpjpe_mm']:.1f} | {r['root_err_median_pct_of_distance']:.2f} | "
            f"{r['mpjpe_noise_mm']:.1f} |"
        )
    return "\n".join(out)


# --- self-supervised adaptation (issue 16) ------------------------------------------------------
@dataclass(frozen=True)
class AdaptEvalConfig:
    """The adaptation use case, simulated: one static camera per lab, 2D only with `noise_px` of
    Gaussian noise, `adapt_poses` frames of half the lab's clips to adapt on and `eval_poses`
    frames of the other half to score; `focal_cameras` further static cameras of unknown K in
    the `focal_range` camera range for focal refinement. 10,000 poses: the use case's scale (a
    user's recording; `pose-lifting adapt` is sized for about 10k poses in minutes on CPU)."""

    adapt_poses: int = 10_000
    eval_poses: int = 10_000
    noise_px: float = 3.0
    seed: int = 1234
    focal_cameras: int = 1
    focal_range: str = "heldout_focal"
    hfov_prior_deg: float = DEFAULT_HFOV_DEG


def split_clips(
    clip_index: np.ndarray, mask: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Two frame masks (N,) over the frames in `mask`: the frames of a random half of its clips
    (adaptation) and of the other half (evaluation). No clip is in both."""
    clips = np.unique(clip_index[mask])
    first = rng.permutation(clips)[: len(clips) // 2]
    in_first = np.isin(clip_index, first)
    return mask & in_first, mask & ~in_first


def static_camera(rng: np.random.Generator, camera_range: str) -> Dict[str, Any]:
    """One static camera: a focal length (log-uniform in the range), an image size (landscape)
    and a mounting height; the people move about in front of it (any distance and direction
    of the range)."""
    r = synth.CAMERA_RANGES[camera_range]
    size = tuple(int(v) for v in synth.IMAGE_SIZES[rng.integers(0, 6)])
    return {
        "range": camera_range,
        "focal_px": float(np.exp(rng.uniform(*np.log(r["focal_px"])))),
        "image_size": size,
        "height_m": float(rng.uniform(*r["height_m"])),
    }


def static_views(P: np.ndarray, rng: np.random.Generator, cam: Dict[str, Any]) -> synth.Views:
    """World skeletons (N, 17, 3) seen by the static camera `cam` (principal point centred)."""
    ranges = dict(
        synth.CAMERA_RANGES[cam["range"]],
        focal_px=(cam["focal_px"],) * 2,
        height_m=(cam["height_m"],) * 2,
    )
    return synth.sample_views(P, rng, ranges, image_size=cam["image_size"], principal_jitter=0.0)


def _category_rows(
    lab: str, P: np.ndarray, before: np.ndarray, after: np.ndarray, gt_rel: np.ndarray
) -> List[Dict[str, Any]]:
    cats = pose_categories(P)
    rows = []
    for c, name in [(-1, "all")] + list(enumerate(CATEGORIES)):
        sel = np.ones(len(P), bool) if c < 0 else cats == c
        if not sel.any():
            continue
        b, a = mpjpe_mm(before[sel], gt_rel[sel]), mpjpe_mm(after[sel], gt_rel[sel])
        rows.append(
            {
                "dataset": lab,
                "category": name,
                "frames": int(sel.sum()),
                "mpjpe_before_mm": b,
                "mpjpe_after_mm": a,
                "change_pct": (a - b) / b * 100,
                "pa_mpjpe_before_mm": pa_mpjpe_mm(before[sel], gt_rel[sel]),
                "pa_mpjpe_after_mm": pa_mpjpe_mm(after[sel], gt_rel[sel]),
                "n_mpjpe_before_mm": n_mpjpe_mm(before[sel], gt_rel[sel]),
                "n_mpjpe_after_mm": n_mpjpe_mm(after[sel], gt_rel[sel]),
                "size_ratio_before": size_ratio(before[sel], gt_rel[sel], ROOT),
                "size_ratio_after": size_ratio(after[sel], gt_rel[sel], ROOT),
            }
        )
    return rows


@dataclass
class _AdaptCase:
    """What every camera of `evaluate_adapt` shares: the starting model (and its `before`
    lifter), the lab with its frames split into the adaptation and the evaluation half (frame
    masks), the 2D prior, the settings, and the one generator of cameras, poses and noise."""

    model: Any
    codec: Any
    data: MocapSet
    half_a: np.ndarray
    half_b: np.ndarray
    before: Lifter
    prior: Any
    adapt_cfg: Any
    cfg: AdaptEvalConfig
    max_norm: float
    progress: bool
    rng: np.random.Generator

    def views(self, cam: Dict[str, Any]) -> tuple:
        """`adapt_poses` frames of the adaptation half and `eval_poses` of the evaluation half
        seen by the static camera `cam` with `noise_px` of Gaussian noise on the 2D, drawn in
        this order: ((kp, conf, views) to adapt on, (world skeletons, views, kp, conf) to score);
        kp (n, 17, 2) px, conf (n, 17) ones, only the frames with a valid view."""
        _, va, kpa, ca = self._noisy_views(self.half_a, self.cfg.adapt_poses, cam)
        Pb, vb, kpb, cb = self._noisy_views(self.half_b, self.cfg.eval_poses, cam)
        return (kpa, ca, va), (Pb, vb, kpb, cb)

    def _noisy_views(self, half: np.ndarray, n: int, cam: Dict[str, Any]) -> tuple:
        """n frames of the frame mask `half` seen by `cam`: (world skeletons, views, noisy kp,
        conf), the frames without a valid view left out."""
        P = _draw(self.data.positions[half], n, self.rng)
        v = static_views(P, self.rng, cam)
        kp = v.keypoints + self.rng.standard_normal(v.keypoints.shape) * self.cfg.noise_px
        return P[v.extra["kept"]], v, kp, np.ones(kp.shape[:2])

    def adapt(self, adapt_data, **changes):
        """`adapt.adapt` of the starting model on `adapt_data` with the adaptation settings
        changed by `changes` (as dataclasses.replace)."""
        import dataclasses

        from pose_lifting_core.tooling.adapt import adapt

        cfg = dataclasses.replace(self.adapt_cfg, **changes)
        return adapt(
            self.model, self.codec, adapt_data, self.prior, cfg, self.max_norm, self.progress
        )

    def after(self, adapted) -> Lifter:
        """A lifter of the adapted model (`adapt`'s result), fp32 on the CPU as `before`."""
        return Lifter(adapted.model, self.codec, "cpu", precision="fp32")


def evaluate_adapt(
    model,
    codec,
    data: MocapSet,
    mask: np.ndarray,
    prior,
    adapt_cfg,
    cfg: AdaptEvalConfig = AdaptEvalConfig(),
    max_norm: float = 1.0,
    progress: bool = False,
) -> Dict[str, Any]:
    """Adapt on one half of the clips in `mask` from their 2D alone and score the other half.

    Known K: one static training-range camera; MPJPE of the starting and the adapted model per
    pose category on the evaluation half. Unknown K (`focal_cameras` cameras of
    `cfg.focal_range`): the focal error of the field-of-view prior, of the pooled estimate
    (solvers.estimate_focal) and of the focal length refined during adaptation, and MPJPE of
    the starting model with the prior's K against the adapted one with the refined K.
    Returns {"rows": per-category rows, "focal_rows": one per camera} (each row with its
    adaptation's "adapt_seconds")."""
    rng = np.random.default_rng([cfg.seed, 16])
    half_a, half_b = split_clips(data.clip_index, mask, rng)
    before = Lifter(model, codec, "cpu", precision="fp32")
    case = _AdaptCase(
        model, codec, data, half_a, half_b, before, prior, adapt_cfg, cfg, max_norm, progress, rng
    )
    rows = _adapt_known_k_rows(case)
    focal_rows = [_adapt_unknown_k_row(case) for _ in range(cfg.focal_cameras)]
    return {"rows": rows, "focal_rows": focal_rows}


def _adapt_known_k_rows(case: _AdaptCase) -> List[Dict[str, Any]]:
    """Known K: one static training-range camera; adapt with its K (focal fixed) and score the
    starting and the adapted model per pose category on the evaluation half."""
    from pose_lifting_core.tooling.adapt import AdaptData

    cam = static_camera(case.rng, "train")
    (kpa, ca, va), (Pb, vb, kpb, cb) = case.views(cam)
    res = case.adapt(AdaptData(kpa, ca, va.K, np.ones(len(kpa), bool), None), focal="fixed")
    after = case.after(res)
    gt_rel = vb.joints_cam - vb.joints_cam[:, ROOT : ROOT + 1]
    rows = _category_rows(
        case.data.dataset, Pb, case.before.lift(kpb, cb, vb.K), after.lift(kpb, cb, vb.K), gt_rel
    )
    for r in rows:
        r.update(adapt_poses=len(kpa), adapt_seconds=res.seconds, camera=cam)
    return rows


def _adapt_unknown_k_row(case: _AdaptCase) -> Dict[str, Any]:
    """Unknown K: one static camera of `cfg.focal_range` whose K is hidden from adaptation.
    The row: the true focal length and the prior's, the pooled estimate's and the refined one's
    (px and % error), and MPJPE (mm) of the starting model with the prior's K against the
    adapted one with the refined K, principal point at the image centre."""
    from pose_lifting_core.tooling.adapt import AdaptData

    cfg = case.cfg
    fcam = static_camera(case.rng, cfg.focal_range)
    (kpa, ca, _), (_, vb, kpb, cb) = case.views(fcam)
    w, h = fcam["image_size"]
    size = (float(w), float(h))
    prior_f = intrinsics_from_fov(w, h, cfg.hfov_prior_deg).fx
    pooled = estimate_focal(case.before.lift, kpa, ca, size)
    res = case.adapt(
        AdaptData(kpa, ca, np.zeros((len(kpa), 3, 3)), np.zeros(len(kpa), bool), size),
        focal="refine",
        hfov_deg=cfg.hfov_prior_deg,
    )
    after = case.after(res)
    f_true, f_ref = fcam["focal_px"], res.focal.refined_px
    gt_rel = vb.joints_cam - vb.joints_cam[:, ROOT : ROOT + 1]

    def K_of(f: float) -> np.ndarray:
        return np.array([[f, 0, w / 2], [0, f, h / 2], [0, 0, 1.0]])

    return {
        "dataset": case.data.dataset,
        "camera": fcam,
        "adapt_poses": len(kpa),
        "focal_true_px": f_true,
        "prior_px": prior_f,
        "pooled_px": pooled.f_px,
        "refined_px": f_ref,
        "refined_rel_sd": res.focal.rel_sd,
        "prior_err_pct": abs(prior_f - f_true) / f_true * 100,
        "pooled_err_pct": abs(pooled.f_px - f_true) / f_true * 100,
        "refined_err_pct": abs(f_ref - f_true) / f_true * 100,
        "mpjpe_prior_before_mm": mpjpe_mm(case.before.lift(kpb, cb, K_of(prior_f)), gt_rel),
        "mpjpe_refined_after_mm": mpjpe_mm(after.lift(kpb, cb, K_of(f_ref)), gt_rel),
        "adapt_seconds": res.seconds,
    }


def adapt_report_markdown(rows: List[Dict[str, Any]], focal_rows: List[Dict[str, Any]]) -> str:
    """`evaluate_adapt` results as two Markdown tables: MPJPE before and after per lab and pose
    category (known K), and focal refinement against the prior (unknown K)."""
    out = [
        "| lab | pose | frames scored | MPJPE before (mm) | MPJPE after (mm) | change "
        "| PA-MPJPE before -> after (mm) | scale-aligned MPJPE before -> after (mm) "
        "| size, lifted / true, before -> after |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(
            f"| {r['dataset']} | {r['category']} | {r['frames']} | {r['mpjpe_before_mm']:.1f} | "
            f"{r['mpjpe_after_mm']:.1f} | {r['change_pct']:+.1f} % | "
            f"{r['pa_mpjpe_before_mm']:.1f} -> {r['pa_mpjpe_after_mm']:.1f} | "
            f"{r['n_mpjpe_before_mm']:.1f} -> {r['n_mpjpe_after_mm']:.1f} | "
            f"{r['size_ratio_before']:.2f} -> {r['size_ratio_after']:.2f} |"
        )
    if focal_rows:
        out += [
            "",
            "| lab | true f (px) | image | prior f: error | pooled estimate: error "
            "| refined f: error (bootstrap sd) | MPJPE, prior K, before (mm) "
            "| MPJPE, refined K, after (mm) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in focal_rows:
            w, h = r["camera"]["image_size"]
            out.append(
                f"| {r['dataset']} | {r['focal_true_px']:.0f} | {w}x{h} | "
                f"{r['prior_px']:.0f}: {r['prior_err_pct']:.1f} % | "
                f"{r['pooled_px']:.0f}: {r['pooled_err_pct']:.1f} % | "
                f"{r['refined_px']:.0f}: {r['refined_err_pct']:.1f} % "
                f"({r['refined_rel_sd'] * 100:.1f} %) | {r['mpjpe_prior_before_mm']:.1f} | "
                f"{r['mpjpe_refined_after_mm']:.1f} |"
            )
    return "\n".join(out)
