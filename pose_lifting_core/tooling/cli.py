"""`pose-lifting` command line: prepare-data, train, evaluate, lift, estimate, adapt.

Owns: argument parsing and turning every expected failure into a one-line message on stderr
with a non-zero exit (2 for bad input or arguments). `--debug` shows tracebacks instead.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import gc
import os
import sys
from typing import Dict, List, Optional, Sequence

import numpy as np

from pose_lifting_core import plausibility
from pose_lifting_core.camera import DEFAULT_HFOV_DEG, HFOV_RANGE_DEG
from pose_lifting_core.command import OneLineParser, run_command


class CliError(Exception):
    """An expected failure: printed as one line, exit code 2."""


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}")
    if not np.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return v


def _number_in(kind: type, lo: float, hi: float):
    """An argparse type: a `kind` (int or float) in [lo, hi], else one line naming the range."""

    def parse(text: str):
        try:
            v = kind(text)
        except ValueError:
            what = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"not {what}: {text!r}")
        if not (np.isfinite(v) and lo <= v <= hi):
            bounds = [str(int(b)) if kind is int else f"{b:g}" for b in (lo, hi)]
            raise argparse.ArgumentTypeError(
                f"must be in [{bounds[0]}, {bounds[1]}], got {text!r}"
            )
        return v

    return parse


_HFOV = _number_in(float, *HFOV_RANGE_DEG)  # --hfov: a field of view a lens can have
_HFOV_HELP = (
    f"horizontal field-of-view prior (degrees, {HFOV_RANGE_DEG[0]:g}-{HFOV_RANGE_DEG[1]:g}) "
    "when K is unknown"
)
_MAX_DISTANCE = _number_in(float, 0.5, 1000.0)  # --max-distance: the nodes' max_distance_m range
_DROP_RULE = (
    "fewer than 2 usable keypoints, a non-finite position, keypoints all within "
    f"{plausibility.MIN_SPREAD_PX:g} px, placed beyond --max-distance or nearer than "
    f"{plausibility.MIN_DEPTH_M:g} m, or a mean reprojection error over "
    f"{plausibility.MAX_RELATIVE_REPROJECTION:g} of its 2D size: pose_lifting_core/plausibility.py"
)


def _datasets_arg(text: str) -> tuple:
    """A comma-separated list of DATASETS names ('all' for every one)."""
    from pose_lifting_core.tooling.data.mocap import DATASETS

    names = (
        tuple(DATASETS)
        if text == "all"
        else tuple(n.strip() for n in text.split(",") if n.strip())
    )
    unknown = [n for n in names if n not in DATASETS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown dataset(s) {', '.join(unknown) or text!r}; "
            f"known: {', '.join(DATASETS)} or all"
        )
    return names


def _print_warnings(caught) -> None:
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)


def _cmd_prepare(args: argparse.Namespace) -> int:
    import warnings

    from pose_lifting_core.tooling.data.mocap import DATASETS, DatasetError, convert_dataset
    from pose_lifting_core.tooling.data.poses import category_counts, pose_categories

    for name in args.dataset:
        archive = os.path.join(args.data_dir, DATASETS[name].archive)
        cache = os.path.join(args.cache_dir, f"{name}_17.npz")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                d = convert_dataset(name, archive, cache, fps=args.fps, progress=not args.quiet)
            except DatasetError as exc:
                raise CliError(str(exc))
        _print_warnings(caught)
        counts = ", ".join(
            f"{k} {v}" for k, v in category_counts(pose_categories(d.positions)).items()
        )
        print(
            f"{name}: {len(d.clip_names)} clips, {len(d.positions)} frames -> {cache} ({counts})"
        )
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from pose_lifting_core.tooling.data.synth import AugmentConfig
    from pose_lifting_core.tooling.train import TrainConfig, TrainError, train

    augment = AugmentConfig(
        p_stature=args.stature_prior_fraction,
        p_mirror=args.mirror_fraction,
        p_outlier_joint=args.outlier_joint_fraction,
        p_side_swap=args.side_swap_fraction,
        p_bend=args.bend_fraction,
    )
    ranges = {  # where the labs and detectors put the joints, and how long they make the trunk
        k: tuple(getattr(args, k))
        for k in (
            "hip_shift_m",
            "shoulder_shift_m",
            "trunk_scale",
            "head_scale",
            "hip_width_scale",
            "shoulder_width_scale",
            "noise_rel",
        )
        if getattr(args, k) is not None
    }
    for k, (lo, hi) in ranges.items():
        if lo > hi:
            raise CliError(f"--{k.replace('_', '-')}: LO {lo:g} is above HI {hi:g}")
    augment = dataclasses.replace(augment, **ranges)
    if args.no_joint_offsets:  # the ablation: joints where the capture put them
        clash = [k for k in ranges if k in ("hip_width_scale", "shoulder_width_scale")]
        if clash:
            raise CliError(
                f"--no-joint-offsets fixes the widths; leave out --{clash[0].replace('_', '-')}"
            )
        augment = dataclasses.replace(
            augment,
            p_joint_offsets=0.0,
            hip_width_scale=(1.0, 1.0),
            shoulder_width_scale=(1.0, 1.0),
        )
    cfg = TrainConfig(
        datasets=args.datasets,
        data_dir=args.data_dir,
        cache_dir=args.cache_dir,
        out_dir=args.out_dir,
        epochs=args.epochs,
        samples_per_epoch=args.samples_per_epoch,
        batch_size=args.batch_size,
        lr=args.lr,
        width=args.width,
        num_blocks=args.blocks,
        dropout=args.dropout,
        seed=args.seed,
        device=args.device,
        time_budget_s=args.time_budget_s,
        camera_range=args.camera_range,
        augment=augment,
    )
    try:
        r = train(cfg, resume=args.resume, export_path=args.export, progress=not args.quiet)
    except (FileNotFoundError, TrainError) as exc:
        raise CliError(str(exc))
    print(f"best validation MPJPE {r['best_val_mpjpe_mm']:.1f} mm; exported {r['export']}")
    return 0


def _check_writable(path: str) -> None:
    """CliError unless `path` can be written (its folder is created when missing). Files are
    written atomically (files.atomic_path), so the folder must take a new file too."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot create the folder of {path}: {exc.strerror or exc}")
    if os.path.isdir(path):
        raise CliError(f"output {path} is a folder")
    if not os.access(folder, os.W_OK | os.X_OK) or (
        os.path.exists(path) and not os.access(path, os.W_OK)
    ):
        raise CliError(f"output {path} is not writable")


def _refuse_overwriting(
    outputs: Dict[str, Optional[str]], inputs: Dict[str, Sequence[Optional[str]]]
) -> None:
    """CliError, before any work, when an output (option name -> path, None when not asked for)
    names the same file as an input (description -> paths) or as another output, however the
    path is spelt (files.same_file): writing it would destroy the input."""
    from pose_lifting_core.files import same_file

    given = [(name, path) for name, path in outputs.items() if path]
    for i, (name, path) in enumerate(given):
        for what, paths in inputs.items():
            for src in paths:
                if src and same_file(path, src):
                    raise CliError(
                        f"{name} {path} is {what} ({src}); writing it would destroy it: "
                        "choose another output path"
                    )
        for other, other_path in given[:i]:
            if same_file(path, other_path):
                raise CliError(f"{other} and {name} name the same file ({path}); give two paths")


def _write_json(path: Optional[str], doc: dict) -> None:
    if path:
        from pose_lifting_core.files import write_json

        write_json(path, doc, indent=1)


def _held_out_models(folder: str) -> List[tuple]:
    """(lab, FOLDER/<lab>/lifter.pt) for every lab with a model held out on it, in
    train.ALL_DATASETS order; the labs without one are named on stderr. CliError when none."""
    from pose_lifting_core.tooling.train import ALL_DATASETS

    plan = [(lab, os.path.join(folder, lab, "lifter.pt")) for lab in ALL_DATASETS]
    found = [(lab, path) for lab, path in plan if os.path.isfile(path)]
    if not found:
        raise CliError(
            f"no checkpoint at {folder}/<lab>/lifter.pt for any lab of "
            f"{', '.join(ALL_DATASETS)} (train one with `pose-lifting train --datasets "
            "<the other labs> --export DIR/<lab>/lifter.pt`, or tools/train_release.sh)"
        )
    missing = [lab for lab, path in plan if (lab, path) not in found]
    if missing:
        print(f"note: no model held out on {', '.join(missing)}: not scored", file=sys.stderr)
    return found


def _evaluate_adapt(args: argparse.Namespace, data_cfg) -> int:
    """`evaluate --adapt`: for each lab (of --leave-one-lab-out DIR, or --dataset with
    --checkpoint), adapt on half its clips from 2D alone and score the other half."""
    from pose_lifting_core.checkpoint import load_model
    from pose_lifting_core.tooling.adapt import AdaptConfig, fit_pose_prior
    from pose_lifting_core.tooling.evaluate import (
        AdaptEvalConfig,
        adapt_report_markdown,
        evaluate_adapt,
    )
    from pose_lifting_core.tooling.train import load_mocap

    if args.leave_one_lab_out:
        plan = _held_out_models(args.leave_one_lab_out)
    else:
        plan = [(args.dataset, args.checkpoint)]
    cfg = AdaptEvalConfig(
        adapt_poses=args.adapt_poses,
        eval_poses=args.adapt_poses,
        noise_px=args.noise_px,
        focal_cameras=args.focal_cameras,
        hfov_prior_deg=args.hfov,
    )
    acfg = AdaptConfig(epochs=args.adapt_epochs)
    rows, focal_rows, protocol = [], [], []
    try:
        for lab, path in plan:
            model, codec, info = load_model(path)
            tc = info.get("train_config") or {}
            seen = tc.get("datasets", ["bandai"])
            data = load_mocap(lab, data_cfg)
            heldout = tc.get("heldout_content", [])
            # a lab the model saw: only its test clips; a lab it never saw: every frame
            mask = (
                data.splits(heldout)["test"] if lab in seen else np.ones(len(data.positions), bool)
            )
            # the 2D prior: training clips of the labs the model saw, never the scored lab's clips
            P = np.concatenate(
                [
                    m.positions[m.splits(heldout)["train"]]
                    for m in (load_mocap(d, data_cfg) for d in seen)
                ]
            )
            prior = fit_pose_prior(P, samples=30_000, epochs=2, seed=0)
            out = evaluate_adapt(
                model, codec, data, mask, prior, acfg, cfg, float(tc.get("max_norm", 1.0)),
                progress=False,
            )  # fmt: skip
            rows += out["rows"]
            focal_rows += out["focal_rows"]
            protocol.append(
                {
                    "lab": lab,
                    "checkpoint": info.get("path"),
                    "trained_on": list(seen),
                    "frames": "test split (the model saw this lab)" if lab in seen else "all",
                }
            )
            print(f"[{lab}] adapted in {out['rows'][0]['adapt_seconds']:.0f} s", file=sys.stderr)
    except FileNotFoundError as exc:
        raise CliError(str(exc))
    print(adapt_report_markdown(rows, focal_rows))
    _write_json(
        args.json,
        {
            "protocol": "adapt",
            "labs": protocol,
            "config": cfg.__dict__,
            "adapt_config": acfg.to_dict(),
            "rows": rows,
            "focal_rows": focal_rows,
        },
    )
    return 0


def _check_evaluate_json(args: argparse.Namespace) -> None:
    """`evaluate --json`: a long run must neither write over what it reads nor fail late."""
    from pose_lifting_core.checkpoint import DEFAULT_CHECKPOINT
    from pose_lifting_core.tooling.data.mocap import DATASETS
    from pose_lifting_core.tooling.train import ALL_DATASETS

    lolo = args.leave_one_lab_out
    _refuse_overwriting(
        {"--json": args.json},
        {
            "the checkpoint": [args.checkpoint or DEFAULT_CHECKPOINT]
            + ([os.path.join(lolo, lab, "lifter.pt") for lab in ALL_DATASETS] if lolo else []),
            "a dataset cache": [os.path.join(args.cache_dir, f"{n}_17.npz") for n in DATASETS],
            "a dataset archive": [
                os.path.join(args.data_dir, d.archive) for d in DATASETS.values()
            ],
        },
    )
    _check_writable(args.json)


def _evaluate_leave_one_lab_out(args: argparse.Namespace, data_cfg, cfg) -> int:
    """`evaluate --leave-one-lab-out DIR`: each DIR/<lab>/lifter.pt on all of <lab>."""
    from pose_lifting_core.lifter import Lifter
    from pose_lifting_core.tooling.evaluate import evaluate_lab, lab_report_markdown
    from pose_lifting_core.tooling.train import load_mocap

    rows = []
    for lab, path in _held_out_models(args.leave_one_lab_out):
        lifter = Lifter.load(path, args.device, args.precision, args.mirror_average)
        seen = lifter.info.get("train_config", {}).get("datasets", ["bandai"])
        if lab in seen:
            raise CliError(
                f"{path} was trained on {lab}; leave-one-lab-out needs a model that never saw it"
            )
        try:
            rows += evaluate_lab(lifter, load_mocap(lab, data_cfg), cfg)
        except FileNotFoundError as exc:
            raise CliError(str(exc))
    print(lab_report_markdown(rows))
    _write_json(
        args.json,
        {
            "protocol": "leave-one-lab-out",
            "dir": args.leave_one_lab_out,
            "config": cfg.__dict__,
            "rows": rows,
        },
    )
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from pose_lifting_core.lifter import Lifter
    from pose_lifting_core.tooling.evaluate import (
        EvalConfig,
        evaluate_known_k,
        evaluate_lab,
        evaluate_unknown_k,
        lab_report_markdown,
        report_markdown,
    )
    from pose_lifting_core.tooling.train import TrainConfig, load_mocap

    if args.json:
        _check_evaluate_json(args)
    data_cfg = TrainConfig(data_dir=args.data_dir, cache_dir=args.cache_dir)
    cfg = EvalConfig(
        samples=args.samples, noise_px=args.noise_px, scenes=args.scenes, hfov_prior_deg=args.hfov
    )
    if args.adapt:
        return _evaluate_adapt(args, data_cfg)
    if args.leave_one_lab_out:
        return _evaluate_leave_one_lab_out(args, data_cfg, cfg)
    lifter = Lifter.load(args.checkpoint, args.device, args.precision, args.mirror_average)
    heldout = lifter.info.get("train_config", {}).get("heldout_content", [])
    cfg = EvalConfig(**(cfg.__dict__ | {"heldout_content": tuple(heldout)}))
    seen = lifter.info.get("train_config", {}).get("datasets", ["bandai"])
    if args.split == "all" and args.dataset in seen:  # a mistake with or without the data
        raise CliError(
            f"--split all scores every frame of {args.dataset}, but {lifter.info.get('path')} was "
            f"trained on it; use --split test"
        )
    try:
        data = load_mocap(args.dataset, data_cfg)
    except FileNotFoundError as exc:
        raise CliError(str(exc))
    lab_rows = evaluate_lab(
        lifter,
        data,
        cfg,
        None if args.split == "all" else data.splits(cfg.heldout_content)["test"],
    )
    rows = evaluate_known_k(lifter, data, cfg)
    if not args.skip_unknown_k:
        rows += evaluate_unknown_k(lifter, data, cfg)
    print(report_markdown(rows))
    print()
    print(
        lab_report_markdown(
            lab_rows, title="all frames of" if args.split == "all" else "test split of"
        )
    )
    _write_json(
        args.json,
        {
            "checkpoint": lifter.info.get("path"),
            "dataset": args.dataset,
            "split": args.split,
            "config": cfg.__dict__ | {"heldout_content": list(heldout)},
            "rows": rows,
            "category_rows": lab_rows,
        },
    )
    return 0


def _plausible_k(inp, hfov: float):
    """The input with an implausible K dropped (the same rules as the nodes: the field-of-view
    prior is used instead, with a warning); CliError when there is no image_size to fall back
    on."""
    from pose_lifting_core.camera import intrinsics_problem

    if inp.K is None or not len(inp.K):
        return inp
    sizes = inp.image_sizes if inp.image_sizes is not None else np.zeros((len(inp.K), 2))
    problems = {
        intrinsics_problem(k, int(round(w)), int(round(h))) for k, (w, h) in zip(inp.K, sizes)
    } - {None}
    if not problems:
        return inp
    if inp.image_sizes is None:
        raise CliError(
            f"{sorted(problems)[0]}; give a plausible K, or image_size to use the prior"
        )
    print(
        f"warning: {sorted(problems)[0]}: K not used, estimated from the "
        f"{hfov:g} deg field-of-view prior",
        file=sys.stderr,
    )
    return dataclasses.replace(inp, K=None)


def _cmd_lift(args: argparse.Namespace) -> int:
    from pose_lifting_core.camera import intrinsics_from_fov
    from pose_lifting_core.lifter import DEFAULT_CHECKPOINT, Lifter
    from pose_lifting_core.skeleton import to_skeleton17
    from pose_lifting_core.solvers import estimate_focal, fuse_focal
    from pose_lifting_core.tooling.lift_io import npz_path, read_lift_input, write_lift_output

    _refuse_overwriting(
        {"--output": npz_path(args.output)},
        {"the input": [args.keypoints], "the checkpoint": [args.checkpoint or DEFAULT_CHECKPOINT]},
    )
    inp = _plausible_k(read_lift_input(args.keypoints), args.hfov)
    kp, conf = to_skeleton17(inp.keypoints, inp.scores, inp.layout)
    n = len(kp)
    lifter = Lifter.load(args.checkpoint, args.device, args.precision, args.mirror_average)
    estimated = inp.K is None
    if estimated:  # the prior for each row's own image size (a folder's images may differ)
        w, h = inp.image_sizes.T
        f = np.array(
            [intrinsics_from_fov(int(round(a)), int(round(b)), args.hfov).fx for a, b in zip(w, h)]
        )
        if args.focal != "prior" and n > 0:
            if inp.image_size is None:
                raise CliError(
                    f"--focal {args.focal} pools one camera's people, but the rows come from "
                    "images of several sizes (image_size per row): use --focal prior"
                )
            est = estimate_focal(lifter.lift, kp, conf, inp.image_size)
            f = np.full(n, est.f_px if args.focal == "pooled" else fuse_focal(f[0], est))
            print(
                f"pooled focal estimate {est.f_px:.0f} px (bootstrap sd {est.rel_sd * 100:.0f} %) "
                f"from {est.num_samples} people; using {f[0]:.0f} px ({args.focal})"
            )
        K = np.zeros((n, 3, 3))
        K[:, 0, 0] = K[:, 1, 1] = f
        K[:, 0, 2], K[:, 1, 2], K[:, 2, 2] = w / 2, h / 2, 1.0
    else:
        K = inp.K
    res = lifter.estimate(kp, conf, K)
    # the pipeline's rule: an implausible person is no result (NaN, with the reason)
    reasons = plausibility.implausible(
        res.joints_3d, kp, conf, res.reprojection_error_px, args.max_distance
    )
    ok = reasons == ""
    for a in (res.joints_3d, res.joints_rel, res.root, res.reprojection_error_px):
        a[~ok] = np.nan
    written = write_lift_output(
        args.output, res.joints_3d, K, np.full(n, estimated), res.reprojection_error_px, reasons
    )
    print(
        f"lifted {int(ok.sum())}/{n} people -> {written}"
        + (
            f" (K estimated: f={K[:, 0, 0].min():.0f}"
            + (f"-{K[:, 0, 0].max():.0f}" if np.ptp(K[:, 0, 0]) else "")
            + " px)"
            if estimated and n
            else ""
        )
    )
    if not ok.all():
        counts = plausibility.count(reasons)
        print(
            f"warning: {int((~ok).sum())} of {n} people not lifted (NaN in {written}, reason in "
            f"dropped_reason): {plausibility.describe(counts, args.max_distance)}",
            file=sys.stderr,
        )
    if ok.any():
        print(
            f"  distance {np.median(res.root[ok, 2]):.2f} m median, reprojection error "
            f"{np.median(res.reprojection_error_px[ok]):.1f} px median"
        )
    if inp.joints_3d_gt is not None and ok.any():
        from pose_lifting_core.tooling.metrics import mpjpe_mm, pa_mpjpe_mm, root_error

        gt = inp.joints_3d_gt[ok]
        gt_rel = gt - gt[:, :1]
        rerr = root_error(res.root[ok], gt[:, 0])
        print(
            "  against the ground truth in the file: MPJPE "
            f"{mpjpe_mm(res.joints_rel[ok], gt_rel):.1f} mm, PA-MPJPE "
            f"{pa_mpjpe_mm(res.joints_rel[ok], gt_rel):.1f} mm, root error "
            f"{np.median(rerr) * 1000:.0f} mm median "
            f"({np.median(rerr / np.linalg.norm(gt[:, 0], axis=-1)) * 100:.1f}% of distance)"
        )
    return 0


def _estimated_k_note(ks: List[tuple], hfov: float) -> str:
    """The summary's words for the frames whose K came from the prior, from each frame's
    (fx px, estimated): "" for none, "; K estimated (f=554 px, 60 deg prior)", or, where the
    frames' sizes give several focal lengths or some frames had a usable K, "; K estimated in
    2 of 3 frames (f=554-1109 px, ...)"."""
    f = sorted({round(fx) for fx, estimated in ks if estimated})
    if not f:
        return ""
    k = sum(bool(e) for _, e in ks)
    where = "" if k == len(ks) else f" in {k} of {len(ks)} frames"
    span = f"{f[0]}" if len(f) == 1 else f"{f[0]}-{f[-1]}"
    return f"; K estimated{where} (f={span} px, {hfov:g} deg prior)"


@dataclasses.dataclass
class _Run:
    """What one pass of `estimate` over a source gave: the JSON frames and every person's
    keypoint row (keypoints (17, 2) px, confidence (17,), K (3, 3), estimated, image size), each
    only when asked for (None otherwise: a long bag's memory stays bounded); per frame its
    (fx px, estimated) and people count; track ids; implausible people by reason; the last
    frame's intrinsics; the pipeline's busy seconds; the bag written (or None); detections held
    back on new tracks (FrameResult.tentative)."""

    json_frames: Optional[list]
    keypoints: Optional[list]
    threads: int = 0
    ks: list = dataclasses.field(default_factory=list)
    people: list = dataclasses.field(default_factory=list)
    ids: set = dataclasses.field(default_factory=set)
    dropped: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    tentative: int = 0
    intrinsics: object = None
    busy: float = 0.0
    bag: Optional[str] = None

    def add(self, res) -> None:
        from pose_lifting_core.pipeline import frame_to_dict

        intr = self.intrinsics = res.intrinsics
        self.ks.append((intr.fx, intr.estimated))
        self.people.append(len(res.persons))
        self.ids.update(p.id for p in res.persons)
        self.dropped.update(res.dropped)
        self.tentative += res.tentative
        if self.json_frames is not None:
            self.json_frames.append(frame_to_dict(res))
        if self.keypoints is not None:
            self.keypoints += [
                (p.keypoints_2d, p.confidence, intr.K, intr.estimated, res.image_size)
                for p in res.persons
            ]


class _Cameras:
    """(K, distortion) of each frame by the nodes' rule (camera_model.camera_model): a bag
    frame's own CameraInfo where it has one, else --intrinsics / --camera-info, else (None,
    None), the prior; raw K and D, or with --rectified P's left 3x3. Each problem is warned once,
    when it first appears."""

    def __init__(self, args: argparse.Namespace, calib) -> None:
        self.args, self.calib = args, calib
        self.name = "--intrinsics" if args.intrinsics is not None else "camera_info"
        self._cache: Dict[tuple, tuple] = {}
        self._warned: set = set()

    def __call__(self, size: tuple, calibration=None, frame_id: str = "") -> tuple:
        from pose_lifting_core.camera_model import camera_model

        own = calibration is not None  # the bag's CameraInfo of this frame
        calib = calibration if own else self.calib
        key = (size, id(calib), frame_id if own else "")
        if key not in self._cache:
            self._cache[key] = (None, None)
            if calib is not None:
                cam = camera_model(
                    calib,
                    size,
                    self.args.hfov,
                    "CameraInfo" if own else self.name,
                    frame_id=key[2],
                    rectified=self.args.rectified,
                )
                for problem in set(cam.problems) - self._warned:
                    print(f"warning: {problem}", file=sys.stderr)
                self._warned.update(cam.problems)
                self._cache[key] = (cam.K, cam.distortion)
        return self._cache[key]


def _bag_input(path: str, args: argparse.Namespace) -> bool:
    """Whether the input is a bag: a bag path (bag.is_bag), or a topic option was given."""
    from pose_lifting_ros.bag import is_bag

    return bool(args.image_topic or args.camera_info_topic) or is_bag(path)


def _open_bag(path: str, args: argparse.Namespace):
    """The bag's image topic as a frame source (bag.source.open_bag), its CameraInfo topic
    indexed unless --intrinsics or --camera-info gives the intrinsics; says what it read."""
    from pose_lifting_ros.bag.source import open_bag

    given = args.intrinsics is not None or args.camera_info is not None
    if given and args.camera_info_topic:
        raise CliError(
            "--camera-info-topic and --intrinsics/--camera-info both give the "
            "intrinsics: choose one"
        )
    src = open_bag(path, args.image_topic, args.camera_info_topic, want_camera_info=not given)
    if args.rectified and not given and not src.camera_info_topic:
        src.close()
        raise CliError(
            f"--rectified needs --camera-info or a CameraInfo topic, and {path} has "
            f"none beside {src.image_topic} (name it with --camera-info-topic)"
        )
    how = (
        f"CameraInfo from {src.camera_info_topic}"
        if src.camera_info_topic
        else "intrinsics from "
        + (
            "the command line"
            if given
            else "the field-of-view prior "
            "(no CameraInfo topic beside it; --camera-info-topic names one)"
        )
    )
    print(f"{path}: {src.num_frames} images on {src.image_topic}; {how}", file=sys.stderr)
    return src


def _calibration_arg(args: argparse.Namespace, src):
    """The calibration --intrinsics or --camera-info gives (None: neither); CliError for a
    camera_info YAML of another size than a single image or video."""
    from pose_lifting_core.camera_model import Calibration, load_calibration_yaml

    if args.intrinsics is not None:
        fx, fy, cx, cy = args.intrinsics
        return Calibration(np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1.0]]))
    if args.camera_info is None:
        return None
    calib = load_calibration_yaml(args.camera_info)
    if src.kind in ("image", "video") and (calib.width, calib.height) != tuple(src.size):
        raise CliError(
            f"camera_info is for {calib.width}x{calib.height} images but {src.path} is "
            f"{src.size[0]}x{src.size[1]}"
        )
    return calib


def _pipeline_config(args: argparse.Namespace, src):
    """The PipelineConfig of `estimate` (and `adapt BAG`) from its options: tracking for every
    source but a single image; a folder's people are output from the first photo they are seen
    in (its photos need not be a sequence), a video's and a bag's once seen in two frames in a
    row (PipelineConfig.tracker_min_hits)."""
    from pose_lifting_core.pipeline import PipelineConfig

    return PipelineConfig(
        checkpoint=args.checkpoint,
        device=args.device,
        precision=args.precision,
        mirror_average=getattr(args, "mirror_average", True),
        landmark_model=args.landmark_model,
        person_detector=args.person_detector,
        max_people=args.max_people,
        max_distance_m=args.max_distance,
        hfov_deg=args.hfov,
        track=src.kind != "image" and not getattr(args, "no_track", False),
        tracker_min_hits=1 if src.kind == "folder" else PipelineConfig.tracker_min_hits,
        smoothing_alpha=getattr(args, "smoothing", 1.0),
    )


def _estimate_pass(
    args,
    src,
    cameras,
    json_frames=False,
    keypoints=False,
    render=None,
    sink_factory=None,
    copy_topics=(),
) -> _Run:
    """Every frame of `src` through one PoseEstimator, as fast as the CPU allows: the result
    gathered (_Run), drawn into `render`, and written into the bag `sink_factory()` makes (with
    the input messages of `copy_topics`). The render and the bag are put in place only after
    the last frame."""
    import time

    from tqdm import tqdm

    from pose_lifting_core.pipeline import PoseEstimator

    cfg = _pipeline_config(args, src)
    est = PoseEstimator(cfg)
    run = _Run([] if json_frames else None, [] if keypoints else None, cfg.detector_threads)
    writer = view = sink = None
    if render:
        from pose_lifting_core.media import RenderWriter
        from pose_lifting_core.tooling.render import View3D, render_frame

        writer, view = RenderWriter(render, fps=src.fps or 10.0), View3D()
    bag = src.kind == "bag"
    bar = tqdm(
        total=src.num_frames,
        unit="msg" if bag else "frame",
        desc=getattr(src, "image_topic", None),
        disable=src.num_frames <= 1 or args.quiet,
    )
    complete = False
    try:
        sink = sink_factory() if sink_factory else None
        frames = src.frames(sink.copy, copy_topics) if sink and copy_topics else src.frames()
        for index, t, rgb, *info in frames:
            info = info[0] if info else None
            t0 = time.perf_counter()
            K, distortion = cameras(
                (rgb.shape[1], rgb.shape[0]),
                info and info.calibration,
                info.frame_id if info else "",
            )
            res = est.process(rgb, K, t, distortion)
            run.busy += time.perf_counter() - t0
            if not run.people:
                gc.freeze()  # the models stay to the end: a full collection need not scan them
            run.add(res)
            if sink is not None:
                sink.write(res, info)
            bar.update(1)
            bar.set_postfix(
                people=len(res.persons), **({"skipped": src.skipped_count} if bag else {})
            )
            if writer is not None:
                writer.write(render_frame(rgb, res.persons, res.intrinsics, view))
        complete = True
    finally:
        bar.close()
        if writer is not None:
            writer.close(commit=complete)
            view.close()
        if sink is not None:
            run.bag = sink.close(commit=complete and bool(run.people))
    return run


def _report_skipped(src) -> None:
    """Warn about what the source skipped: each unreadable file of a folder, or a bag's bad
    messages counted by reason."""
    if src.kind != "bag":
        for f, reason in src.skipped:
            print(f"warning: skipped {f}: {reason}", file=sys.stderr)
    elif src.skipped_count:
        from pose_lifting_ros.bag.source import counts_by_reason

        why = "; ".join(f"{r} ({n})" for r, n in counts_by_reason(src.skipped).items())
        print(
            f"warning: {src.skipped_count} bag message(s) skipped, not processed: {why}",
            file=sys.stderr,
        )


def _estimate_summary(args: argparse.Namespace, src, run: _Run) -> None:
    """Warnings (skipped input, implausible people) and the one-line summary; CliError when no
    frame could be processed."""
    _report_skipped(src)
    counts = {r: run.dropped[r] for r in plausibility.REASONS if run.dropped[r]}
    why = plausibility.describe(counts, args.max_distance)
    if counts:
        print(
            f"warning: {sum(counts.values())} implausible people left out: {why}", file=sys.stderr
        )
    skipped = src.skipped_count if src.kind == "bag" else len(src.skipped)
    if not run.people:
        raise CliError(f"no frame of {args.input} could be processed ({skipped} skipped)")
    what = "bad message(s)" if src.kind == "bag" else "unreadable file(s)"
    print(
        f"{len(run.people)} frame(s), {sum(run.people)} person detections ({len(run.ids)} track "
        f"ids), {np.mean(run.people):.1f} people per frame, "
        f"{len(run.people) / max(run.busy, 1e-9):.1f} frames/s "
        f"(detection + lifting, {run.threads} threads)"
        + (f"; {skipped} {what} skipped" if skipped else "")
        + (f"; {sum(counts.values())} implausible people left out ({why})" if counts else "")
        + (
            f"; {run.tentative} detection(s) of people not yet seen in two frames in a row "
            "held back"
            if run.tentative
            else ""
        )
        + _estimated_k_note(run.ks, args.hfov)
    )


def _write_keypoints(path: str, run: _Run, fallback_size) -> tuple:
    """Write every person's 2D keypoints in the `lift` input format (image_size (N, 2) when
    the frames' sizes differ; K only when every person's was given). (path written, people,
    calibrated)."""
    from pose_lifting_core.tooling.lift_io import write_lift_input

    rows = run.keypoints
    n = len(rows)
    calibrated = n > 0 and not any(e for _, _, _, e, _ in rows)
    sizes = np.array([size for *_, size in rows], dtype=np.float64).reshape(n, 2)
    shared = n == 0 or (sizes == sizes[0]).all()  # else each person's own image's size
    written = write_lift_input(
        path,
        np.array([k for k, *_ in rows]).reshape(n, 17, 2),
        np.array([c for _, c, *_ in rows]).reshape(n, 17),
        (sizes[0] if n else fallback_size) if shared else sizes,
        np.array([K for _, _, K, _, _ in rows]) if calibrated else None,
    )
    return written, n, calibrated


def _check_estimate_outputs(args: argparse.Namespace, bag: bool) -> None:
    """Refuse, before any work, outputs that would destroy an input, a bag output without a bag
    input or over an existing path, and outputs that cannot be written."""
    from pose_lifting_core.checkpoint import DEFAULT_CHECKPOINT
    from pose_lifting_core.detection.models import MODELS, model_dir
    from pose_lifting_core.media import input_files
    from pose_lifting_core.tooling.lift_io import npz_path
    from pose_lifting_ros.bag import BAG_SUFFIXES, bag_files

    if args.output and args.output.lower().endswith(BAG_SUFFIXES):
        raise CliError(f"--output writes JSON, not a bag ({args.output}): use --bag-out DIR")
    if not bag and (args.bag_out or args.copy_input != "none"):
        raise CliError(f"--bag-out and --copy-input need a bag input; {args.input} is not one")
    outputs = {
        "--output": args.output,
        "--render": args.render,
        "--keypoints-out": args.keypoints_out and npz_path(args.keypoints_out),
        "--bag-out": args.bag_out,
    }
    _refuse_overwriting(
        outputs,
        {
            "the input": bag_files(args.input) if bag else input_files(args.input),
            "the camera_info file": [args.camera_info],
            "the checkpoint": [args.checkpoint or DEFAULT_CHECKPOINT],
            "a detector model": [os.path.join(model_dir(), m.filename) for m in MODELS.values()],
        },
    )
    if args.bag_out and os.path.lexists(args.bag_out):
        raise CliError(
            f"--bag-out {args.bag_out} exists already; bags are never overwritten: "
            "remove it or choose another path"
        )
    for out in outputs.values():  # a long run must not fail late
        if out:
            _check_writable(out)


def _cmd_estimate(args: argparse.Namespace) -> int:
    from pose_lifting_core.files import write_json
    from pose_lifting_core.media import open_source
    from pose_lifting_core.pipeline import intrinsics_to_dict

    bag = _bag_input(args.input, args)
    _check_estimate_outputs(args, bag)
    if args.rectified and args.camera_info is None and not bag:
        raise CliError(
            "--rectified needs --camera-info (it picks that file's P instead of K and D)"
        )
    src = _open_bag(args.input, args) if bag else open_source(args.input)
    try:
        cameras = _Cameras(args, _calibration_arg(args, src))
        copy: tuple = ()
        if bag and args.copy_input != "none":
            used = (src.image_topic, src.camera_info_topic)
            copy = tuple(t for t in (src.topics if args.copy_input == "all" else used) if t)
        sink = None
        if args.bag_out:
            from pose_lifting_ros.bag.sink import BagSink

            def sink():
                return BagSink(args.bag_out, src, copy)

        run = _estimate_pass(
            args,
            src,
            cameras,
            bool(args.output),
            bool(args.keypoints_out),
            args.render,
            sink,
            copy,
        )
    finally:
        if bag:
            src.close()
    _estimate_summary(args, src, run)
    if args.output:
        doc = {"intrinsics": intrinsics_to_dict(run.intrinsics), "frames": run.json_frames}
        write_json(args.output, doc)  # the top-level intrinsics are the last frame's
        print(f"wrote {args.output}")
    if args.keypoints_out:
        written, n, calibrated = _write_keypoints(args.keypoints_out, run, src.size)
        note = "K given" if calibrated else "no K: adapt or lift estimate it"
        print(f"wrote {written} ({n} people; {note})")
    if args.render:
        print(f"wrote {args.render}")
    if run.bag:
        print(f"wrote {run.bag} (rosbag2, mcap: {len(run.people)} frames)")
    return 0


def _keypoints_from_bag(args: argparse.Namespace, folder: str) -> str:
    """`adapt BAG`: the detector over the bag's image topic; every person's 2D keypoints
    written in the `lift` input format to --keypoints-out (or into `folder`). Returns the file."""
    src = _open_bag(args.inputs[0], args)
    try:
        run = _estimate_pass(
            args, src, _Cameras(args, _calibration_arg(args, src)), keypoints=True
        )
    finally:
        src.close()
    _report_skipped(src)
    if not run.keypoints:
        raise CliError(
            f"no person found in the {len(run.people)} frames of {src.image_topic} "
            f"of {args.inputs[0]}: nothing to adapt on"
        )
    path = args.keypoints_out or os.path.join(folder, "keypoints.npz")
    written, n, calibrated = _write_keypoints(path, run, src.size)
    k = (
        "K from CameraInfo"
        if calibrated
        else "no K for some frames: the focal length is estimated"
    )
    kept = f"; wrote {written}" if args.keypoints_out else ""
    print(f"{n} people in {len(run.people)} frames of {src.image_topic} ({k}){kept}")
    return written


def _cmd_adapt(args: argparse.Namespace) -> int:
    import tempfile

    from pose_lifting_core.checkpoint import DEFAULT_CHECKPOINT
    from pose_lifting_core.tooling.adapt import DEFAULT_PRIOR
    from pose_lifting_core.tooling.lift_io import npz_path
    from pose_lifting_ros.bag import bag_files

    bag = len(args.inputs) == 1 and _bag_input(args.inputs[0], args)
    if not bag and (args.keypoints_out or args.image_topic or args.camera_info_topic):
        raise CliError("--keypoints-out and the topic options are for one bag input")
    _refuse_overwriting(
        {
            "--output": args.output,
            "--keypoints-out": args.keypoints_out and npz_path(args.keypoints_out),
        },
        {
            "an input": bag_files(args.inputs[0]) if bag else args.inputs,
            "the checkpoint": [args.checkpoint or DEFAULT_CHECKPOINT],
            "the 2D pose prior": [args.prior or DEFAULT_PRIOR],
        },
    )
    _check_writable(args.output)
    with tempfile.TemporaryDirectory() as folder:
        inputs = [_keypoints_from_bag(args, folder)] if bag else args.inputs
        return _adapt_inputs(args, inputs, bag)


def _adapt_inputs(args: argparse.Namespace, paths: List[str], bag: bool) -> int:
    """Adapt on `lift`-format files (a bag's keypoints among them) and print the check figures:
    start and adapted model on the --holdout tail (or on everyone adapted on)."""
    from pose_lifting_core.checkpoint import load_model
    from pose_lifting_core.tooling import adapt_check
    from pose_lifting_core.tooling.adapt import AdaptConfig, adapt, gather_inputs, load_pose_prior
    from pose_lifting_core.tooling.adapt import save_adapted
    from pose_lifting_core.tooling.lift_io import read_lift_input

    inputs = [_plausible_k(read_lift_input(p), args.hfov) for p in paths]
    data = gather_inputs(inputs, args.inputs)  # a bag's keypoints named by the bag
    focal = args.focal or ("refine" if bag and not data.known.any() else "fixed")
    if args.focal is None and focal == "refine":
        print(
            "note: the bag gives no K: the focal length is refined (--focal fixed keeps the "
            "field-of-view prior's)",
            file=sys.stderr,
        )
    if focal == "refine" and data.known.all():
        raise CliError("--focal refine needs inputs without K, but every input gives its K")
    fit, check = adapt_check.split_tail(data, args.holdout) if args.holdout else (data, data)
    model, codec, info = load_model(args.checkpoint)
    prior = load_pose_prior(args.prior)
    cfg = AdaptConfig(
        epochs=args.epochs, lr=args.lr, focal=focal, hfov_deg=args.hfov, seed=args.seed
    )
    max_norm = float((info.get("train_config") or {}).get("max_norm", 1.0))
    res = adapt(model, codec, fit, prior, cfg, max_norm, progress=not args.quiet)
    save_adapted(args.output, res, codec, info, cfg, args.inputs)
    _print_adapt(args, res, cfg)
    f0 = res.focal.prior_px if res.focal else 1.0
    f1 = res.focal.refined_px if res.focal else 1.0
    before = adapt_check.check_figures(model, codec, check, f0, prior.bone_limits, args.seed)
    after = adapt_check.check_figures(res.model, codec, check, f1, prior.bone_limits, args.seed)
    where = (
        f"{len(check.keypoints)} people held out (the last {args.holdout:g})"
        if args.holdout
        else f"the {len(check.keypoints)} people adapted on"
    )
    print(
        f"  check on your 2D, {where}, median per person, start -> adapted: "
        + adapt_check.report(before, after)
    )
    return 0


def _print_adapt(args: argparse.Namespace, res, cfg) -> None:
    """What `adapt` did: people, time, losses first and last epoch, the focal length."""
    first, last = res.history[0], res.history[-1]
    print(
        f"adapted on {res.num_poses} people from {len(args.inputs)} file(s) in "
        f"{res.seconds:.0f} s ({cfg.epochs} epochs) -> {args.output}"
    )
    print(
        "  losses, first epoch -> last: "
        + ", ".join(
            f"{k} {first[k]:.4f} -> {last[k]:.4f}"
            for k in ("reprojection", "cycle", "prior", "symmetry", "limits", "anchor")
        )
    )
    if res.focal is not None:
        f = res.focal
        if cfg.focal == "refine":
            print(
                f"  focal length: {f.refined_px:.0f} px (bootstrap sd {f.rel_sd * 100:.1f} %), "
                f"started from {f.pooled_px:.0f} px pooled over the input, "
                f"field-of-view prior {f.prior_px:.0f} px ({args.hfov:g} deg), "
                f"{f.num_samples} people of unknown K"
            )
        else:
            print(f"  focal length fixed at the {args.hfov:g} deg prior: {f.prior_px:.0f} px")


def _precision_arg(sub: argparse.ArgumentParser) -> None:
    """--precision and --no-mirror-average, as evaluate, lift and estimate take them."""
    from pose_lifting_core.lifter import AUTO_PRECISION, PRECISIONS

    sub.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help=f"lifting network number format (auto: {AUTO_PRECISION}; int8: hidden layers in "
        "int8 on x86 CPUs, only when asked for, joints move by a few mm)",
    )
    sub.add_argument(
        "--no-mirror-average",
        dest="mirror_average",
        action="store_false",
        help="lift each person once, not also mirrored and averaged (half the network's work; "
        "1-2 mm less accurate)",
    )


def _camera_args(s: argparse.ArgumentParser) -> None:
    """--intrinsics / --camera-info and --rectified, as estimate and adapt take them."""
    cam = s.add_mutually_exclusive_group()
    cam.add_argument(
        "--intrinsics",
        nargs=4,
        type=_positive_float,
        metavar=("FX", "FY", "CX", "CY"),
        help="pinhole intrinsics in pixels",
    )
    cam.add_argument(
        "--camera-info",
        help="camera_info YAML written by ROS camera_calibration; an image or video of another "
        "size is refused, a folder's or bag's images of another size get the prior (one "
        "warning per size)",
    )
    s.add_argument(
        "--rectified",
        action="store_true",
        help="the input is rectified (image_proc's image_rect): use the camera_info's "
        "projection_matrix (P, its left 3x3) and no distortion; without it, camera_matrix (K) "
        "and the distortion coefficients (D) of a raw image",
    )


def _bag_args(s: argparse.ArgumentParser, write: bool) -> None:
    """The options of a bag input (topics) and, with `write`, of a bag output."""
    s.add_argument(
        "--image-topic",
        metavar="T",
        help="a bag's sensor_msgs/Image or CompressedImage topic (default: its only one)",
    )
    s.add_argument(
        "--camera-info-topic",
        metavar="C",
        help="a bag's CameraInfo topic, matched to each image by stamp (default: the image "
        "topic's sibling camera_info, /cam/image_raw -> /cam/camera_info, when the bag has it)",
    )
    if not write:
        return
    s.add_argument(
        "--bag-out",
        metavar="DIR",
        help="write a new rosbag2 bag (mcap) DIR with /skeletons, /markers and /tf, stamped and "
        "framed as each image (never over an existing path)",
    )
    s.add_argument(
        "--copy-input",
        choices=("none", "used", "all"),
        default="none",
        help="with --bag-out: also copy the input's image and CameraInfo topics (used) or every "
        "topic (all), so that one bag replays everything (default none)",
    )


def _detector_args(s: argparse.ArgumentParser) -> None:
    """The pipeline's options shared by estimate and adapt (a bag input)."""
    from pose_lifting_core.pipeline import PipelineConfig

    s.add_argument("--device", default="auto", help="auto, cpu or cuda")
    _precision_arg(s)
    s.add_argument("--hfov", type=_HFOV, default=DEFAULT_HFOV_DEG, help=_HFOV_HELP)
    s.add_argument("--max-people", type=_number_in(int, 1, 1000), default=10)
    s.add_argument(
        "--max-distance",
        type=_MAX_DISTANCE,
        default=PipelineConfig.max_distance_m,
        metavar="M",
        help="people placed farther than this (metres) are left out (the nodes' max_distance_m)",
    )
    s.add_argument("--landmark-model", choices=("lite", "full", "heavy"), default="full")
    s.add_argument("--person-detector", choices=("blazepose", "hog", "both"), default="both")


def _data_args(s: argparse.ArgumentParser) -> None:
    """--data-dir and --cache-dir, as prepare-data, train and evaluate take them."""
    from pose_lifting_core.tooling.data.mocap import SHARED_DATA

    s.add_argument(
        "--data-dir",
        default=SHARED_DATA,
        help="folder holding the motion-capture archives (docs/TRAINING.md)",
    )
    s.add_argument("--cache-dir", default="cache", help="where the 17-joint caches live")


def _add_prepare(sub) -> None:
    """`prepare-data`: motion-capture archives -> the 17-joint caches."""
    from pose_lifting_core.tooling.data.mocap import DATASETS

    s = sub.add_parser(
        "prepare-data", help="convert motion-capture archives into cached 17-joint arrays"
    )
    _data_args(s)
    s.add_argument(
        "--dataset",
        type=_datasets_arg,
        default=tuple(DATASETS),
        help=f"comma-separated, of {', '.join(DATASETS)} (default: all)",
    )
    s.add_argument(
        "--fps",
        type=_positive_float,
        default=None,
        help="frame rate kept in the cache (default: each dataset's, docs/TRAINING.md)",
    )
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=_cmd_prepare)


def _augment_args(s: argparse.ArgumentParser) -> None:
    """train's options of the synthetic data: stature prior, joint-definition shifts, body
    proportions and the virtual cameras."""
    from pose_lifting_core.tooling.data.synth import AugmentConfig

    s.add_argument(
        "--stature-prior-fraction",
        type=_number_in(float, 0.0, 1.0),
        default=AugmentConfig.p_stature,
        help="share of samples scaled to a stature from the adult prior (the rest keep "
        "their actor's size)",
    )
    for flag, field, what in (
        ("mirror", "p_mirror", "bodies mirrored, left and right swapped"),
        (
            "bend",
            "p_bend",
            "bodies whose upper body is bent forward at the hips by 20-100 degrees",
        ),
        (
            "outlier-joint",
            "p_outlier_joint",
            "2D joints moved by 5-30 %% of the person's height, as a detector's gross errors",
        ),
        (
            "side-swap",
            "p_side_swap",
            "people whose left and right elbows and wrists, or knees and ankles, are exchanged "
            "in 2D",
        ),
    ):
        s.add_argument(
            f"--{flag}-fraction",
            type=_number_in(float, 0.0, 1.0),
            default=getattr(AugmentConfig, field),
            help=f"share of {what} (default %(default)g)",
        )
    s.add_argument(
        "--noise-rel",
        type=_number_in(float, 0.0, 0.5),
        nargs=2,
        metavar=("LO", "HI"),
        default=None,
        help="range of the sd of 2D noise in proportion to the person's height in the image "
        "(default 0 0: off), on top of the pixel noise",
    )
    s.add_argument(
        "--no-joint-offsets",
        action="store_true",
        help="ablation: train without the joint-definition augmentation",
    )
    for joint in ("hip", "shoulder"):  # where the labs and detectors put these joints
        lo, hi = getattr(AugmentConfig, f"{joint}_shift_m")
        s.add_argument(
            f"--{joint}-shift-m",
            type=float,
            nargs=2,
            metavar=("LO", "HI"),
            default=None,
            help=f"range of the joint-definition shift of the {joint}s along the trunk, metres, "
            f"up positive (default {lo:g} {hi:g})",
        )
    for part, bones in (
        ("trunk", "pelvis-spine-thorax bones"),
        ("head", "thorax-neck-head bones"),
        ("hip_width", "hip width"),
        ("shoulder_width", "shoulder width"),
    ):
        lo, hi = getattr(AugmentConfig, f"{part}_scale")
        s.add_argument(
            f"--{part.replace('_', '-')}-scale",
            type=_number_in(float, 0.3, 3.0),
            nargs=2,
            metavar=("LO", "HI"),
            default=None,
            help=f"range of the length factor of the {bones} (default {lo:g} {hi:g}); "
            "the stature prior follows the legs, so this varies the body's proportions",
        )
    s.add_argument(
        "--camera-range",
        choices=("train", "typical"),
        default="train",
        help="virtual cameras to train with (data/synth.py): train (default, views from above "
        "up to 65 degrees) or typical (the earlier range, up to 45 degrees; an ablation)",
    )


def _add_train(sub) -> None:
    """`train`: the lifter, seeded and resumable."""
    from pose_lifting_core.tooling.train import DEFAULT_DATASETS, TrainConfig

    s = sub.add_parser("train", help="train the lifter (seeded, resumable)")
    _data_args(s)
    s.add_argument(
        "--datasets",
        type=_datasets_arg,
        default=DEFAULT_DATASETS,
        help=f"comma-separated datasets to train on (default: {','.join(DEFAULT_DATASETS)}, "
        "every lab whose licence allows commercial use; add bandai for its CC BY-NC 4.0 data)",
    )
    s.add_argument("--out-dir", default=os.path.join("runs", "lifter"))
    s.add_argument("--export", default=None, help="where to write the final checkpoint")
    s.add_argument("--epochs", type=_number_in(int, 1, 10_000), default=30)
    s.add_argument("--samples-per-epoch", type=_number_in(int, 1, 10**8), default=300_000)
    s.add_argument("--batch-size", type=_number_in(int, 1, 10**6), default=1024)
    s.add_argument(
        "--lr", type=_number_in(float, 1e-9, 1.0), default=1e-3, help="Adam's learning rate"
    )
    s.add_argument("--width", type=_number_in(int, 8, 16_384), default=1024)
    s.add_argument("--blocks", type=_number_in(int, 1, 64), default=2)
    s.add_argument("--dropout", type=_number_in(float, 0.0, 0.95), default=TrainConfig.dropout)
    s.add_argument("--seed", type=_number_in(int, 0, 2**32 - 1), default=0)
    s.add_argument("--device", default="auto", help="auto, cpu or cuda")
    s.add_argument(
        "--time-budget-s",
        type=_number_in(float, 0.0, 1e9),
        default=0.0,
        help="stop before an epoch that would end later than this (0: no limit)",
    )
    _augment_args(s)
    s.add_argument("--resume", action="store_true", help="continue from OUT_DIR/last.pt")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=_cmd_train)


def _add_evaluate(sub) -> None:
    """`evaluate`: errors on held-out data (and --adapt, --leave-one-lab-out)."""
    from pose_lifting_core.tooling.adapt import AdaptConfig
    from pose_lifting_core.tooling.data.mocap import DATASETS

    s = sub.add_parser("evaluate", help="MPJPE, PA-MPJPE, root and focal errors on held-out data")
    _data_args(s)
    s.add_argument("--checkpoint", default=None, help="default: the shipped weights")
    s.add_argument(
        "--dataset",
        choices=tuple(DATASETS),
        default="bandai",
        help="whose held-out clips to score (default bandai)",
    )
    s.add_argument(
        "--split",
        choices=("test", "all"),
        default="test",
        help="the per-category table on the dataset's test clips, or on all its frames (only for "
        "a model that never saw the dataset)",
    )
    s.add_argument(
        "--leave-one-lab-out",
        metavar="DIR",
        default=None,
        help="score DIR/<lab>/lifter.pt, trained without <lab>, on all of <lab>, for each lab",
    )
    s.add_argument("--device", default="auto")
    _precision_arg(s)
    s.add_argument("--samples", type=_number_in(int, 1, 10**7), default=20_000)
    s.add_argument("--scenes", type=_number_in(int, 1, 100_000), default=30)
    s.add_argument("--noise-px", type=_number_in(float, 0.0, 1000.0), default=5.0)
    s.add_argument("--hfov", type=_HFOV, default=DEFAULT_HFOV_DEG, help=_HFOV_HELP)
    s.add_argument("--skip-unknown-k", action="store_true")
    s.add_argument(
        "--adapt",
        action="store_true",
        help="self-supervised adaptation: per lab (--leave-one-lab-out DIR, or --dataset), adapt "
        "on half its clips from noisy 2D alone and score the other half, before and after; "
        "--noise-px sets the 2D noise (3 px in docs/BENCHMARKS.md)",
    )
    s.add_argument(
        "--adapt-poses",
        type=_number_in(int, 10, 10**6),
        default=10_000,
        help="with --adapt: poses adapted on, and scored, per lab (default: 10000)",
    )
    s.add_argument("--adapt-epochs", type=_number_in(int, 1, 1000), default=AdaptConfig.epochs)
    s.add_argument("--focal-cameras", type=_number_in(int, 0, 100), default=1)
    s.add_argument("--json", default=None, help="write the rows as JSON")
    s.set_defaults(func=_cmd_evaluate)


def _add_lift(sub) -> None:
    """`lift`: 2D keypoints in an .npz -> metric 3D."""
    from pose_lifting_core.pipeline import PipelineConfig

    s = sub.add_parser(
        "lift",
        help="lift 2D keypoints from an .npz to metric 3D",
        description="Lift 2D keypoints from an .npz to metric 3D. A person whose result is "
        f"implausible ({_DROP_RULE}) is not a result: its row of OUT.npz holds NaN and "
        "`dropped_reason` (N,) names why ('' for a result); a warning counts them by reason.",
    )
    s.add_argument(
        "--keypoints", required=True, help='IN.npz (keys: README, "Lifting your own keypoints")'
    )
    s.add_argument("--output", required=True, help="OUT.npz")
    s.add_argument("--checkpoint", default=None, help="default: the shipped weights")
    s.add_argument("--device", default="auto", help="auto, cpu or cuda")
    _precision_arg(s)
    s.add_argument(
        "--hfov",
        type=_HFOV,
        default=DEFAULT_HFOV_DEG,
        help=_HFOV_HELP,
    )
    s.add_argument(
        "--focal",
        choices=("prior", "pooled", "fused"),
        default="prior",
        help="unknown K: the field-of-view prior (default), a focal length pooled over all people "
        "in the file (one static camera), or both fused by their uncertainties (docs/CAMERA.md)",
    )
    s.add_argument(
        "--max-distance",
        type=_MAX_DISTANCE,
        default=PipelineConfig.max_distance_m,
        metavar="M",
        help="people placed farther than this (metres) from the camera are not results "
        "(as the nodes' max_distance_m)",
    )
    s.set_defaults(func=_cmd_lift)


def _add_estimate(sub) -> None:
    """`estimate`: the whole pipeline on an image, video, folder or bag."""
    s = sub.add_parser(
        "estimate",
        help="metric 3D skeletons of every person in an image, video, folder or bag",
        description="Metric 3D skeletons of every person in an image, video, folder of images or "
        "bag (rosbag2 mcap or sqlite3, ROS 1 .bag: an image topic, written back with --bag-out). "
        "Each frame is lifted with the intrinsics of its own size (a folder's images may differ), "
        "and tracking never links frames of different sizes. A person "
        f"whose result is implausible ({_DROP_RULE}) is left out; the summary counts them by "
        "reason, and a warning names the reasons.",
    )
    s.add_argument("input", help="an image, a video, a folder of images, or a bag")
    _camera_args(s)
    s.add_argument(
        "--output",
        help='OUT.json (format: README, "Images and video"; each frame also holds its own '
        '"image_size" [width, height] and "intrinsics", and the top-level "intrinsics" are the '
        "last frame's)",
    )
    s.add_argument("--render", help="OUT.png for an image, OUT.mp4 for a video or bag")
    s.add_argument(
        "--keypoints-out",
        metavar="FILE.npz",
        help="also write every person's 2D keypoints in the `lift` input format (for `adapt`); "
        "image_size is (N, 2), each person's own image's, when a folder's images differ",
    )
    _bag_args(s, write=True)
    s.add_argument("--checkpoint", default=None, help="default: the shipped weights")
    _detector_args(s)
    s.add_argument(
        "--smoothing",
        type=_number_in(float, 0.01, 1.0),
        default=1.0,
        help="temporal smoothing alpha in (0, 1]; 1 = off; lag (1 - a) / a frames",
    )
    s.add_argument("--no-track", action="store_true", help="detect every frame, no track ids")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=_cmd_estimate)


def _add_adapt(sub) -> None:
    """`adapt`: self-supervised adaptation from 2D keypoints alone."""
    from pose_lifting_core.tooling.adapt import FOCAL_MODES, AdaptConfig

    s = sub.add_parser(
        "adapt",
        help="adapt the lifter to your own camera and people from 2D keypoints alone "
        "(self-supervised; docs/TRAINING.md)",
        description="Adapt the lifter from 2D keypoints alone: `lift`-format .npz files, or one "
        "bag, whose image topic the detector reads first (the options of `estimate`). Prints "
        "check figures of the starting and the adapted model on your 2D (reprojection, bone "
        "symmetry and limits, rotation cycle), on the --holdout tail when given.",
    )
    s.add_argument(
        "inputs", nargs="+", metavar="IN", help="files in the `lift` input format, or one bag"
    )
    s.add_argument("--output", required=True, metavar="ADAPTED.pt", help="the adapted checkpoint")
    s.add_argument("--checkpoint", default=None, help="start from (default: the shipped weights)")
    s.add_argument("--epochs", type=_number_in(int, 1, 1000), default=AdaptConfig.epochs)
    s.add_argument("--lr", type=_positive_float, default=AdaptConfig.lr)
    s.add_argument(
        "--focal",
        choices=FOCAL_MODES,
        default=None,
        help="inputs without K: keep the field-of-view prior's focal length, or refine it as a "
        "parameter pooled over all of them (one static camera), starting from the pooled "
        "estimate fused with the prior (default: refine for a bag without CameraInfo, else fixed)",
    )
    s.add_argument(
        "--holdout",
        type=_number_in(float, 0.0, 0.9),
        default=0.0,
        help="keep the last FRACTION of the people (the end of a recording) out of the adaptation "
        "and print the check figures on them (default 0: on everyone adapted on)",
    )
    s.add_argument("--prior", default=None, help="2D pose prior (default: the shipped one)")
    s.add_argument("--seed", type=_number_in(int, 0, 2**32 - 1), default=0)
    s.add_argument(
        "--keypoints-out",
        metavar="FILE.npz",
        help="a bag input: also keep the 2D keypoints found (reuse them: adapt FILE.npz)",
    )
    _camera_args(s)
    _bag_args(s, write=False)
    _detector_args(s)
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=_cmd_adapt)


def _add_fetch(sub) -> None:
    """`fetch-models`: the BlazePose models (its options are detection.models')."""
    from pose_lifting_core.detection.models import add_fetch_arguments, fetch_command

    s = sub.add_parser(
        "fetch-models",
        help="download the BlazePose detector models (pip and npm registries); "
        "a separate step: building and running never download",
    )
    add_fetch_arguments(s)
    s.set_defaults(func=fetch_command)


def build_parser() -> argparse.ArgumentParser:
    """The `pose-lifting` parser: --debug, and one subcommand per _add_* function."""
    p = OneLineParser(
        prog="pose-lifting", description="Metric 3D human skeletons from 2D keypoints."
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    for add in (
        _add_prepare,
        _add_train,
        _add_evaluate,
        _add_lift,
        _add_estimate,
        _add_adapt,
        _add_fetch,
    ):
        add(sub)
    return p


def main(argv: Optional[List[str]] = None) -> int:
    from pose_lifting_core.detection import DetectorError
    from pose_lifting_core.lifter import CheckpointError
    from pose_lifting_core.tooling.lift_io import InputError

    parser = build_parser()
    args = parser.parse_args(argv)
    return run_command(
        f"pose-lifting {args.command}",
        lambda: args.func(args),
        (CliError, InputError, CheckpointError, DetectorError, ValueError, OSError),
        debug=args.debug,
    )


if __name__ == "__main__":
    sys.exit(main())
