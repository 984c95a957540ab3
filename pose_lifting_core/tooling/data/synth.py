"""Training pairs from motion capture: virtual cameras and augmentation.

Owns: camera-range presets (data), random pinhole cameras placed around a person, projection of
world skeletons into camera-frame 3D + pixel 2D, and the augmentations: body proportions and the
adult stature prior, where the joints are defined (each lab and each 2D detector puts hips,
shoulders and head elsewhere), pose diversity (limb recombination, limb perturbation, hip/knee
flexion, synthetic kneeling and chair sitting, upper bodies recombined with other lower bodies
within a hip-flexion limit, upper bodies bent forward, mirrored bodies), 2D noise (pixel, and
detector-style: in proportion to the person, gross single-joint errors, left and right limbs
exchanged), dropped joints.

Conventions: world frame of the capture, metres, Y up, the body facing +Z, left = +X.
Camera frame: optical (x right, y down, z forward). All functions are vectorised over N samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Tuple

import numpy as np
import torch

from pose_lifting_core.codec import _torch
from pose_lifting_core.skeleton import SKELETON

J = {n: i for i, n in enumerate(SKELETON.names)}

DETECTOR_MISSING = ("spine", "neck")
"""Joints COCO and BlazePose inputs cannot provide (confidence 0 after `to_skeleton17`)."""

# Camera ranges as data. "train" covers what the shipped model is trained on, "typical" the
# earlier training range (robot, tripod and handheld cameras; the leave-one-lab-out rows use it,
# so rounds stay comparable), "steep" views from above (a dome, a ceiling, a robot's head over a
# seated person: now inside "train"); the "heldout_*" ranges lie outside training and are only
# used for evaluation. "train" reaches 65 degrees of elevation and 4 m of height because a model
# that never saw views from above placed people seen from there too far (seated +13 %, standing
# +26 % on CMU-sitting, benchmarks/seated_root.py; docs/BENCHMARKS.md).
CAMERA_RANGES: Dict[str, Dict[str, Tuple[float, float]]] = {
    "train": {
        "focal_px": (300.0, 3000.0),
        "distance_m": (1.5, 10.0),
        "elevation_deg": (-20.0, 65.0),
        "height_m": (0.3, 4.0),
        "roll_deg": (-5.0, 5.0),
    },
    "typical": {
        "focal_px": (300.0, 3000.0),
        "distance_m": (1.5, 10.0),
        "elevation_deg": (-20.0, 45.0),
        "height_m": (0.3, 3.0),
        "roll_deg": (-5.0, 5.0),
    },
    "steep": {
        "focal_px": (300.0, 3000.0),
        "distance_m": (1.5, 10.0),
        "elevation_deg": (45.0, 65.0),
        "height_m": (3.0, 6.0),
        "roll_deg": (-5.0, 5.0),
    },
    "heldout_overhead": {
        "focal_px": (300.0, 3000.0),
        "distance_m": (1.5, 10.0),
        "elevation_deg": (65.0, 80.0),
        "height_m": (3.0, 8.0),
        "roll_deg": (-5.0, 5.0),
    },
    "heldout_far": {
        "focal_px": (300.0, 3000.0),
        "distance_m": (10.0, 15.0),
        "elevation_deg": (-20.0, 45.0),
        "height_m": (0.3, 3.0),
        "roll_deg": (-5.0, 5.0),
    },
    "heldout_focal": {
        "focal_px": (3000.0, 5000.0),
        "distance_m": (1.5, 10.0),
        "elevation_deg": (-20.0, 45.0),
        "height_m": (0.3, 3.0),
        "roll_deg": (-5.0, 5.0),
    },
    "heldout_roll": {
        "focal_px": (300.0, 3000.0),
        "distance_m": (1.5, 10.0),
        "elevation_deg": (-20.0, 45.0),
        "height_m": (0.3, 3.0),
        "roll_deg": (10.0, 25.0),
    },
}
IMAGE_SIZES = np.array(
    [
        (640, 480),
        (848, 480),
        (1280, 720),
        (1920, 1080),
        (1024, 768),
        (1440, 1080),
        (480, 640),
        (720, 1280),
    ],
    dtype=np.float64,
)


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities and ranges of every augmentation (saved in the checkpoint)."""

    p_proportions: float = 0.8
    global_scale_sd: float = 0.05
    bone_scale: Tuple[float, float] = (0.92, 1.08)
    # widths relative to the lab's own (hips 0.13-0.21 m and shoulders 0.20-0.47 m apart in the
    # labs): from 0.7 and 0.6, CMU's (0.17 and 0.35 m) lie inside ACCAD's and HDM05's ranges
    hip_width_scale: Tuple[float, float] = (0.7, 1.9)
    shoulder_width_scale: Tuple[float, float] = (0.6, 1.8)
    # lengths of the trunk bones (pelvis-spine-thorax) and of the neck and head bones, per
    # sample; labs put these points far apart (pelvis to thorax 0.38-0.53 m, thorax to head
    # 0.17-0.27 m), while the stature prior is tied to the legs
    trunk_scale: Tuple[float, float] = (0.92, 1.08)
    head_scale: Tuple[float, float] = (0.92, 1.08)
    p_limb_swap: float = 0.3
    p_limb_perturb: float = 0.3
    limb_perturb_deg: float = 20.0
    p_flex: float = 0.12
    hip_flex_deg: Tuple[float, float] = (20.0, 110.0)
    knee_flex_extra_deg: Tuple[float, float] = (-10.0, 50.0)
    noise_px: Tuple[float, float] = (0.0, 6.0)
    p_noise: float = 0.7
    # detector-style 2D errors, off by default: Gaussian noise in proportion to the person's
    # height in the image (a detector works on a crop scaled to the person), gross errors of
    # single joints (a fraction of the height, any direction), and one limb whose left and
    # right points are exchanged (a side view's classic confusion)
    noise_rel: Tuple[float, float] = (0.0, 0.0)
    p_outlier_joint: float = 0.0
    outlier_rel: Tuple[float, float] = (0.05, 0.3)
    p_side_swap: float = 0.0
    p_drop: float = 0.05
    p_detector_layout: float = 0.6  # spine and neck absent (COCO/BlazePose inputs)
    min_height_px: float = 80.0
    min_inside_frac: float = 0.75
    # where joints are defined: hips and shoulders moved along the trunk, the head along the neck
    p_joint_offsets: float = 0.8
    hip_shift_m: Tuple[float, float] = (-0.03, 0.05)
    spine_shift_m: Tuple[float, float] = (-0.05, 0.05)
    shoulder_shift_m: Tuple[float, float] = (-0.06, 0.04)
    neck_shift_m: Tuple[float, float] = (-0.06, 0.03)
    head_shift_m: Tuple[float, float] = (-0.04, 0.04)
    # synthetic legs (gravity frame): both knees down, one knee down, on a chair, on the floor
    p_kneel: float = 0.06
    p_half_kneel: float = 0.04
    p_chair: float = 0.10
    p_floor_sit: float = 0.04
    # lying down: the whole (upright) body turned 70-100 deg about a horizontal axis
    p_lie: float = 0.08
    # an upper body from another sample on this lower body, if the hip flexion limit allows
    p_recombine: float = 0.3
    min_trunk_thigh_deg: float = 35.0
    # the upper body bent forward at the hips by `bend_deg` (within the hip flexion limit),
    # its arms then hanging towards the floor in half the cases; off by default: bending was
    # 8 mm better on the two labs held out that have it, CMU-sitting 2-5 mm worse (round 5)
    p_bend: float = 0.0
    bend_deg: Tuple[float, float] = (20.0, 100.0)
    # adult stature prior (m): a two-component mixture, clipped; see docs/CAMERA.md
    stature_means_m: Tuple[float, float] = (1.755, 1.625)
    stature_sds_m: Tuple[float, float] = (0.070, 0.065)
    stature_range_m: Tuple[float, float] = (1.50, 1.95)
    p_stature: float = 1.0
    # mirrored bodies (x -> -x, left and right swapped): a raised left leg becomes a raised right
    # leg, which the virtual cameras (turning about the vertical) never make
    p_mirror: float = 0.0

    def to_dict(self) -> Dict[str, object]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


# --- small vector helpers ---------------------------------------------------------------------
def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def rotation_about(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rodrigues: rotations (N, 3, 3) about axes (N, 3) (any length) by angles (N,) radians.
    numpy in, numpy out (float64); torch in, torch out, differentiable (adaptation's rotation
    cycle)."""
    if not isinstance(axis, torch.Tensor):
        with torch.inference_mode():
            return rotation_about(_torch(axis), _torch(angle)).numpy()
    a = axis / axis.norm(dim=-1, keepdim=True).clamp(min=1e-9)
    x, y, z = a.unbind(-1)
    zero = torch.zeros_like(x)
    Kx = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], -1).reshape(a.shape[:-1] + (3, 3))
    s, c = torch.sin(angle)[..., None, None], torch.cos(angle)[..., None, None]
    eye = torch.eye(3, dtype=a.dtype).expand_as(Kx)
    return eye + s * Kx + (1 - c) * (Kx @ Kx)


def body_frames(P: np.ndarray, side: str = "hip") -> np.ndarray:
    """Body frames (N, 3, 3), columns = (left, up, forward) axes in world coordinates.

    side="hip" uses the hip line, "shoulder" the shoulder line; up is pelvis→thorax made
    orthogonal. P: (N, 17, 3)."""
    if side == "hip":
        lat = P[:, J["left_hip"]] - P[:, J["right_hip"]]
    else:
        lat = P[:, J["left_shoulder"]] - P[:, J["right_shoulder"]]
    x = _unit(lat)
    up = P[:, J["thorax"]] - P[:, J["pelvis"]]
    y = _unit(up - (up * x).sum(-1, keepdims=True) * x)
    z = np.cross(x, y)
    return np.stack([x, y, z], -1)


_PARENTS = np.array(SKELETON.parents)


def _bones(P: np.ndarray) -> np.ndarray:
    """Bone vectors (N, 17, 3): child minus parent, zero for the root."""
    Pt = np.ascontiguousarray(P.transpose(1, 0, 2))  # joint-major: whole-joint blocks
    Bt = Pt - Pt[np.maximum(_PARENTS, 0)]
    Bt[_PARENTS < 0] = 0.0
    return Bt.transpose(1, 0, 2)


def _rebuild(root: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Positions from the root position (N, 3) and bone vectors (N, 17, 3); parents first."""
    Bt = np.ascontiguousarray(B.transpose(1, 0, 2))
    Pt = np.empty_like(Bt)
    for j, p in enumerate(SKELETON.parents):
        if p < 0:
            Pt[j] = root
        else:
            np.add(Pt[p], Bt[j], out=Pt[j])
    return Pt.transpose(1, 0, 2)


# --- augmentations ----------------------------------------------------------------------------
def augment_proportions(P: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """Random bone lengths (symmetric left/right with a small asymmetry; the two trunk bones
    together), trunk, neck and head lengths, hip and shoulder widths, and overall size.
    P: (N, 17, 3) metres -> same shape."""
    N = len(P)
    B = _bones(P)
    s = np.ones((N, 17))
    sel = rng.random(N) < cfg.p_proportions
    g = np.clip(1.0 + cfg.global_scale_sd * rng.standard_normal(N), 0.85, 1.15)
    lo, hi = cfg.bone_scale
    for left, right in (
        ("left_knee", "right_knee"),
        ("left_ankle", "right_ankle"),
        ("left_elbow", "right_elbow"),
        ("left_wrist", "right_wrist"),
    ):
        base = rng.uniform(lo, hi, N)
        s[:, J[left]] = base * rng.uniform(0.98, 1.02, N)
        s[:, J[right]] = base * rng.uniform(0.98, 1.02, N)
    trunk = rng.uniform(*cfg.trunk_scale, N)
    for name in ("spine", "thorax"):
        s[:, J[name]] = trunk * rng.uniform(0.97, 1.03, N)
    for name in ("neck", "head"):
        s[:, J[name]] = rng.uniform(*cfg.head_scale, N)
    hw = rng.uniform(*cfg.hip_width_scale, N)
    sw = rng.uniform(*cfg.shoulder_width_scale, N)
    s[:, J["left_hip"]] = s[:, J["right_hip"]] = hw
    s[:, J["left_shoulder"]] = s[:, J["right_shoulder"]] = sw
    s = np.where(sel[:, None], s * g[:, None], 1.0)
    return _rebuild(P[:, J["pelvis"]], B * s[..., None])


_LIMBS = {  # (bones of the limb, frame used to express them)
    "left_arm": (("left_elbow", "left_wrist"), "shoulder"),
    "right_arm": (("right_elbow", "right_wrist"), "shoulder"),
    "left_leg": (("left_knee", "left_ankle"), "hip"),
    "right_leg": (("right_knee", "right_ankle"), "hip"),
}


def augment_pose(P: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """Pose diversity in the spirit of EvoSkeleton/PoseAug, on (N, 17, 3) world skeletons.

    1. Limb recombination: an arm or leg takes its bone directions (in the body frame) from
       another random sample of the batch.
    2. Limb perturbation: a whole limb rotates about its root by up to `limb_perturb_deg`.
    3. Hip/knee flexion: both thighs swing forward (hip flexion) and the shins fold back (knee
       flexion), which makes the sitting and crouching poses that the capture almost lacks.
    Bone lengths are preserved.
    """
    N = len(P)
    B = _bones(P)
    frames = {"hip": body_frames(P, "hip"), "shoulder": body_frames(P, "shoulder")}
    for limb, (bones, side) in _LIMBS.items():
        F = frames[side]
        idx = [J[b] for b in bones]
        local = np.einsum("nji,nkj->nki", F, B[:, idx])  # world -> body frame
        swap = rng.random(N) < cfg.p_limb_swap * 0.5
        donor = rng.integers(0, N, N)
        length = np.linalg.norm(local, axis=-1, keepdims=True)
        local = np.where(swap[:, None, None], _unit(local[donor]) * length, local)
        pert = rng.random(N) < cfg.p_limb_perturb
        ang = np.radians(cfg.limb_perturb_deg) * rng.random(N) * pert
        R = rotation_about(rng.standard_normal((N, 3)), ang)
        local = np.einsum("nij,nkj->nki", R, local)
        B[:, idx] = np.einsum("nij,nkj->nki", F, local)  # body frame -> world
    flex = rng.random(N) < cfg.p_flex
    if flex.any():
        F = frames["hip"][flex]
        n = int(flex.sum())
        hip = np.radians(rng.uniform(*cfg.hip_flex_deg, n))
        knee = hip + np.radians(rng.uniform(*cfg.knee_flex_extra_deg, n))
        lateral = F[:, :, 0]
        for thigh, shin in (("left_knee", "left_ankle"), ("right_knee", "right_ankle")):
            jitter = np.radians(rng.uniform(-8, 8, n))
            Rh = rotation_about(lateral, -(hip + jitter))
            Rk = rotation_about(lateral, -(hip + jitter) + knee)
            Bf = B[flex]
            Bf[:, J[thigh]] = np.einsum("nij,nj->ni", Rh, Bf[:, J[thigh]])
            Bf[:, J[shin]] = np.einsum("nij,nj->ni", Rk, Bf[:, J[shin]])
            B[flex] = Bf
    return _rebuild(P[:, J["pelvis"]], B)


def gravity_frames(P: np.ndarray) -> np.ndarray:
    """Frames (N, 3, 3), columns (left, up, forward): the hip line made horizontal, world up,
    and their cross product. Unlike `body_frames` they ignore the trunk's lean."""
    lat = P[:, J["left_hip"]] - P[:, J["right_hip"]]
    lat = lat * np.array([1.0, 0.0, 1.0])
    x = _unit(lat + np.where(np.linalg.norm(lat, axis=-1, keepdims=True) < 1e-9, [1.0, 0, 0], 0.0))
    y = np.broadcast_to(np.array([0.0, 1.0, 0.0]), x.shape)
    return np.stack([x, y, np.cross(x, y)], -1)


def _sagittal(theta_deg: np.ndarray, abduction_deg: np.ndarray, side: float) -> np.ndarray:
    """Unit directions (N, 3) in a gravity frame: theta from straight down towards forward
    (negative: backward), abduction away from the midline on `side` (+1 left, -1 right)."""
    t, a = np.radians(theta_deg), np.radians(abduction_deg)
    return np.stack([side * np.sin(a), -np.cos(t) * np.cos(a), np.sin(t) * np.cos(a)], -1)


_LEGS = {"left": (1.0, "left_knee", "left_ankle"), "right": (-1.0, "right_knee", "right_ankle")}


def synthesize_legs(P: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """Poses the captures lack, on (N, 17, 3) world skeletons: kneeling on both knees, on one
    knee, sitting on a chair (thighs near horizontal, shins near vertical) and sitting on the
    floor (legs out in front; `refloor` puts the pelvis down), each only on
    samples whose trunk is within 30 deg of vertical. Thigh and shin directions are set in the
    gravity frame with their lengths kept; the upper body is kept (`recombine_upper_bodies` may
    replace it later)."""
    N = len(P)
    B = _bones(P)
    F = gravity_frames(P)
    trunk = _unit(P[:, J["thorax"]] - P[:, J["pelvis"]])
    u = np.where(trunk[:, 1] > np.cos(np.radians(30.0)), rng.random(N), 1.0)  # upright only
    edges = np.cumsum([cfg.p_kneel, cfg.p_half_kneel, cfg.p_chair, cfg.p_floor_sit])
    kneel = u < edges[0]
    half = (u >= edges[0]) & (u < edges[1])
    chair = (u >= edges[1]) & (u < edges[2])
    floor_sit = (u >= edges[2]) & (u < edges[3])
    if not (kneel | half | chair | floor_sit).any():
        return P
    front = rng.random(N) < 0.5  # for a half kneel: which leg stands in front
    for leg, (side, knee, ankle) in _LEGS.items():
        thigh_t = np.full(N, np.nan)
        shin_t = np.full(N, np.nan)
        down = kneel | (half & (front != (leg == "left")))
        up = half & ~down
        thigh_t[down] = rng.uniform(-10.0, 30.0, N)[down]
        shin_t[down] = rng.uniform(-100.0, -85.0, N)[down]  # shin on the floor, backwards
        thigh_t[up] = rng.uniform(60.0, 95.0, N)[up]
        shin_t[up] = rng.uniform(-15.0, 15.0, N)[up]
        thigh_t[chair] = rng.uniform(65.0, 100.0, N)[chair]
        shin_t[chair] = rng.uniform(-20.0, 30.0, N)[chair]
        thigh_t[floor_sit] = rng.uniform(70.0, 100.0, N)[floor_sit]
        shin_t[floor_sit] = rng.uniform(50.0, 100.0, N)[floor_sit]  # legs out in front
        sel = np.isfinite(thigh_t)
        abd = rng.uniform(0.0, 12.0, N)
        for bone, theta in ((knee, thigh_t), (ankle, shin_t)):
            d = np.einsum("nij,nj->ni", F[sel], _sagittal(theta[sel], abd[sel], side))
            B[sel, J[bone]] = d * np.linalg.norm(B[sel, J[bone]], axis=-1, keepdims=True)
    return _rebuild(P[:, J["pelvis"]], B)


_UPPER = (
    "spine",
    "thorax",
    "neck",
    "head",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
)


def recombine_upper_bodies(
    P: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig
) -> np.ndarray:
    """Real upper bodies on other real lower bodies, on (N, 17, 3) world skeletons: a sample's
    upper-body bones take a random donor's, carried from the donor's gravity frame to this
    sample's (the donor's lean and twist over its hips are kept). A combination is refused
    when the trunk comes within `min_trunk_thigh_deg` of a thigh (beyond hip flexion)."""
    N = len(P)
    sel = rng.random(N) < cfg.p_recombine
    if not sel.any():
        return P
    donor = rng.integers(0, N, N)
    B = _bones(P)
    F = gravity_frames(P)
    idx = [J[n] for n in _UPPER]
    local = np.einsum("nji,nkj->nki", F[donor], B[donor][:, idx])  # donor world -> its frame
    new_upper = np.einsum("nij,nkj->nki", F, _unit(local))  # -> this sample's world
    new_upper *= np.linalg.norm(B[:, idx], axis=-1, keepdims=True)  # with this body's lengths
    ok = sel & _trunk_thigh_ok(B, new_upper[:, 0] + new_upper[:, 1], cfg)  # pelvis -> thorax
    B[np.ix_(ok, idx)] = new_upper[ok]
    return _rebuild(P[:, J["pelvis"]], B)


def _trunk_thigh_ok(B: np.ndarray, trunk: np.ndarray, cfg: AugmentConfig) -> np.ndarray:
    """(N,) whether a trunk direction (N, 3) stays `min_trunk_thigh_deg` away from both
    thighs of the bones B (N, 17, 3): beyond that, hip flexion is not humanly possible."""
    ok = np.ones(len(B), bool)
    for thigh in ("left_knee", "right_knee"):
        t = B[:, J[thigh]]
        cos = (trunk * t).sum(-1) / np.maximum(
            np.linalg.norm(trunk, axis=-1) * np.linalg.norm(t, axis=-1), 1e-9
        )
        ok &= np.degrees(np.arccos(np.clip(cos, -1, 1))) >= cfg.min_trunk_thigh_deg
    return ok


def bend_forward(P: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """Bending, reaching down and (on kneeling legs) all fours, which the captures hold little
    of: with probability `p_bend` the upper body (N, 17, 3) turns forward about its hips' line
    by `bend_deg`, refused where the trunk would come within `min_trunk_thigh_deg` of a thigh;
    in half the bent bodies the arms then hang towards the floor (within 25 deg). Lengths are
    kept; same shape out."""
    sel = np.flatnonzero(rng.random(len(P)) < cfg.p_bend)
    n = len(sel)
    if n == 0:
        return P
    angle = np.radians(rng.uniform(*cfg.bend_deg, n))
    hang = rng.random(n) < 0.5
    tilt = np.radians(rng.uniform(0.0, 25.0, (4, n)))
    az = rng.uniform(0.0, 2 * np.pi, (4, n))
    B = _bones(P[sel])
    idx = [J[name] for name in _UPPER]
    R = rotation_about(gravity_frames(P[sel])[:, :, 0], angle)  # about the hips: up -> forward
    bent = np.einsum("nij,nkj->nki", R, B[:, idx])
    ok = _trunk_thigh_ok(B, bent[:, 0] + bent[:, 1], cfg)
    B[np.ix_(ok, idx)] = bent[ok]
    arms = ok & hang
    for k, bone in enumerate(("left_elbow", "left_wrist", "right_elbow", "right_wrist")):
        down = np.stack(
            [np.sin(tilt[k]) * np.cos(az[k]), -np.cos(tilt[k]), np.sin(tilt[k]) * np.sin(az[k])],
            -1,
        )
        length = np.linalg.norm(B[:, J[bone]], axis=-1, keepdims=True)
        B[arms, J[bone]] = (down * length)[arms]
    P = P.copy()
    P[sel] = _rebuild(P[sel, J["pelvis"]], B)
    return P


def augment_joint_definitions(
    P: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig
) -> np.ndarray:
    """Where the joints are: labs and 2D detectors put the hips, shoulders and head at different
    points of the body (a detector's hips sit higher and wider than mocap hip centres; Bandai's
    retargeted torso points sit 12 cm lower than the other labs'). With probability
    `p_joint_offsets`, both hips, the spine point, both shoulders and the neck move along the
    trunk axis, and the head along the neck; the pelvis (mid-hips) and thorax (mid-shoulders)
    follow. Widths are
    drawn in `augment_proportions`. Input and target move together: the network learns to follow
    whichever definition its 2D keypoints show. P: (N, 17, 3) metres -> same shape."""
    N = len(P)
    P = P.copy()
    sel = (rng.random(N) < cfg.p_joint_offsets)[:, None]
    axis = _unit(P[:, J["thorax"]] - P[:, J["pelvis"]])
    hip = rng.uniform(*cfg.hip_shift_m, N)[:, None] * axis * sel
    spine = rng.uniform(*cfg.spine_shift_m, N)[:, None] * axis * sel
    sho = rng.uniform(*cfg.shoulder_shift_m, N)[:, None] * axis * sel
    neck = rng.uniform(*cfg.neck_shift_m, N)[:, None] * axis * sel
    neck_dir = _unit(P[:, J["head"]] - P[:, J["neck"]])
    head = rng.uniform(*cfg.head_shift_m, N)[:, None] * neck_dir * sel
    for name, d in (
        ("left_hip", hip),
        ("right_hip", hip),
        ("pelvis", hip),
        ("spine", spine),
        ("left_shoulder", sho),
        ("right_shoulder", sho),
        ("thorax", sho),
        ("neck", neck),
        ("head", head),
    ):
        P[:, J[name]] += d
    return P


def lie_down(P: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """Lying poses from upright ones: with probability `p_lie`, a skeleton whose trunk is within
    30 deg of vertical turns as a whole by 70-100 deg about a horizontal axis of random azimuth
    through its pelvis (on its back, front or side, with the limbs as they were). The captures
    hold few lying frames; `refloor` then puts the body on the floor. P: (N, 17, 3)."""
    N = len(P)
    trunk = _unit(P[:, J["thorax"]] - P[:, J["pelvis"]])
    sel = (trunk[:, 1] > np.cos(np.radians(30.0))) & (rng.random(N) < cfg.p_lie)
    if not sel.any():
        return P
    n = int(sel.sum())
    az = rng.uniform(0.0, 2 * np.pi, n)
    axis = np.stack([np.cos(az), np.zeros(n), np.sin(az)], -1)
    R = rotation_about(axis, np.radians(rng.uniform(70.0, 100.0, n)))
    P = P.copy()
    root = P[sel, J["pelvis"]][:, None]
    P[sel] = np.einsum("nij,nkj->nki", R, P[sel] - root) + root
    return P


def sample_stature_m(rng: np.random.Generator, n: int, cfg: AugmentConfig) -> np.ndarray:
    """Adult statures (n,) metres from the prior: an equal mixture of the two components
    (`stature_means_m`, `stature_sds_m`), clipped to `stature_range_m`."""
    k = rng.integers(0, 2, n)
    h = np.asarray(cfg.stature_means_m)[k] + np.asarray(cfg.stature_sds_m)[
        k
    ] * rng.standard_normal(n)
    return np.clip(h, *cfg.stature_range_m)


def apply_stature_prior(P: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """Scale each skeleton (N, 17, 3) uniformly so that its stature (from its leg length,
    `poses.stature_m`) is drawn from the adult prior; proportions are kept. Probability
    `p_stature` per sample; the others keep their actor's own size (with the proportion
    augmentation's overall scale), so a body's proportions still say a little about its size."""
    from pose_lifting_core.tooling.data.poses import stature_m

    N = len(P)
    target = sample_stature_m(rng, N, cfg)
    scale = np.where(rng.random(N) < cfg.p_stature, target / np.maximum(stature_m(P), 1e-6), 1.0)
    return P * scale[:, None, None]


def refloor(P: np.ndarray, lowest_m: float = 0.08) -> np.ndarray:
    """Shift each skeleton vertically so its lowest joint is `lowest_m` above y = 0 (an ankle's
    height when standing), after augmentations changed its legs or size."""
    return (
        P
        - np.stack([np.zeros(len(P)), P[..., 1].min(1) - lowest_m, np.zeros(len(P))], -1)[:, None]
    )


def mirror_bodies(P: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """A share `cfg.p_mirror` of the bodies (N, 17, 3) mirrored through the world's y-z plane,
    their left and right joints swapped so that each stays a valid (left-handed) body; same
    shape out. Draws N uniforms from rng."""
    sel = rng.random(len(P)) < cfg.p_mirror
    mirrored = SKELETON.mirror(P)
    return np.where(sel[:, None, None], mirrored, P)


def augment_all(P: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """Every 3D augmentation of a training batch (N, 17, 3), in order: proportions, synthetic
    legs, pose diversity, upper-body recombination, bending, joint definitions, lying down,
    stature, floor, mirroring."""
    P = augment_proportions(P, rng, cfg)
    P = synthesize_legs(P, rng, cfg)
    P = augment_pose(P, rng, cfg)
    P = recombine_upper_bodies(P, rng, cfg)
    if cfg.p_bend > 0:
        P = bend_forward(P, rng, cfg)
    P = augment_joint_definitions(P, rng, cfg)
    P = lie_down(P, rng, cfg)
    P = refloor(apply_stature_prior(P, rng, cfg))
    return mirror_bodies(P, rng, cfg) if cfg.p_mirror > 0 else P


# --- virtual cameras --------------------------------------------------------------------------
@dataclass
class Views:
    """Samples seen through virtual cameras.

    joints_cam: (N, 17, 3) metres, camera optical frame. keypoints: (N, 17, 2) pixels (exact).
    K: (N, 3, 3). image_size: (N, 2) width, height. elevation_deg, distance_m: (N,).
    extra (from `sample_views`): "kept" (input rows,) bool, the rows that found a camera;
    "R" (N, 3, 3) the world -> camera rotations (world Y up, so R[:, :, 1] is the camera's view
    of up).
    """

    joints_cam: np.ndarray
    keypoints: np.ndarray
    K: np.ndarray
    image_size: np.ndarray
    elevation_deg: np.ndarray
    distance_m: np.ndarray
    extra: Dict[str, np.ndarray] = field(default_factory=dict)


def _look_at(C: np.ndarray, target: np.ndarray) -> np.ndarray:
    """World->camera rotations (N, 3, 3) for cameras at C looking at target (world Y up)."""
    f = _unit(target - C)
    up = np.broadcast_to(np.array([0.0, 1.0, 0.0]), f.shape)
    r = _unit(np.cross(f, up))
    d = np.cross(f, r)
    return np.stack([r, d, f], 1)


def _rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest rotations (N, 3, 3) taking unit vectors a to unit vectors b."""
    axis = np.cross(a, b)
    ang = np.arctan2(np.linalg.norm(axis, axis=-1), (a * b).sum(-1))
    axis = np.where(np.linalg.norm(axis, axis=-1, keepdims=True) < 1e-12, [1.0, 0.0, 0.0], axis)
    return rotation_about(axis, ang)


def _draw_intrinsics(
    rng: np.random.Generator,
    n: int,
    ranges: Dict[str, Tuple[float, float]],
    image_size: Tuple[int, int] | None,
    principal_jitter: float,
) -> Tuple[np.ndarray, np.ndarray]:
    """n random pinhole cameras' intrinsics: K (n, 3, 3) and image sizes (n, 2) width, height
    in pixels. The focal length is log-uniform in ranges["focal_px"], fy within 0.5 % of it
    (unless principal_jitter is 0), and the principal point is off the image centre by a
    normal offset of `principal_jitter` times the image size. Draws from rng in this order:
    focal, size (unless fixed), cx, cy, fy factor (unless principal_jitter is 0)."""
    f = np.exp(rng.uniform(*np.log(ranges["focal_px"]), n))
    if image_size is None:
        size = IMAGE_SIZES[rng.integers(0, len(IMAGE_SIZES), n)]
    else:
        size = np.tile(np.asarray(image_size, dtype=np.float64), (n, 1))
    cx = size[:, 0] / 2 + rng.normal(0, principal_jitter, n) * size[:, 0]
    cy = size[:, 1] / 2 + rng.normal(0, principal_jitter, n) * size[:, 1]
    K = np.zeros((n, 3, 3))
    K[:, 0, 0] = f
    K[:, 1, 1] = f * (rng.uniform(0.995, 1.005, n) if principal_jitter > 0 else 1.0)
    K[:, 0, 2], K[:, 1, 2], K[:, 2, 2] = cx, cy, 1.0
    return K, size


def _draw_poses(
    rng: np.random.Generator,
    ranges: Dict[str, Tuple[float, float]],
    pelvis: np.ndarray,
    K: np.ndarray,
    size: np.ndarray,
) -> Tuple[np.ndarray, np.ndarray]:
    """Random camera poses around people whose pelvis (n, 3) is at the horizontal origin:
    rotations R (n, 3, 3) world -> camera and centres C (n, 3), world metres.

    Each camera sits at a horizontal distance, azimuth (any) and height drawn from `ranges`,
    looks at the pelvis, then turns so that the pelvis lands at a random point of the central
    70 % of its image (K (n, 3, 3), size (n, 2) pixels), and rolls about that ray by an angle
    drawn from ranges["roll_deg"] with a random sign. Draws from rng in this order: distance,
    azimuth, height, target x, target y, roll, roll sign."""
    n = len(pelvis)
    dist = rng.uniform(*ranges["distance_m"], n)
    az = rng.uniform(0, 2 * np.pi, n)
    h = rng.uniform(*ranges["height_m"], n)
    C = np.stack([dist * np.sin(az), h, dist * np.cos(az)], -1)
    R = _look_at(C, pelvis)
    target_px = np.stack(
        [rng.uniform(0.15, 0.85, n) * size[:, 0], rng.uniform(0.15, 0.85, n) * size[:, 1]], -1
    )
    f, centre = K[:, 0, 0], K[:, :2, 2]
    ray = _unit(np.concatenate([(target_px - centre) / f[:, None], np.ones((n, 1))], -1))
    R = _rotation_between(np.broadcast_to([0.0, 0.0, 1.0], ray.shape), ray) @ R
    roll = np.radians(rng.uniform(*ranges["roll_deg"], n) * rng.choice([-1.0, 1.0], n))
    # roll about the pelvis ray keeps the pelvis where it was placed
    return rotation_about(ray, roll) @ R, C


def _project_views(Xc: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Pixels (n, 17, 2) of camera-frame joints Xc (n, 17, 3) metres through K (n, 3, 3);
    depths are floored at 1e-6 m (such samples are rejected by `_valid_views`)."""
    z = np.maximum(Xc[..., 2], 1e-6)
    uv = Xc[..., :2] / z[..., None] * K[:, 0, 0][:, None, None]
    uv[..., 0] += K[:, 0, 2][:, None]
    uv[..., 1] = Xc[..., 1] / z * K[:, 1, 1][:, None] + K[:, 1, 2][:, None]
    return uv


def _valid_views(
    Xc: np.ndarray,
    uv: np.ndarray,
    R: np.ndarray,
    size: np.ndarray,
    ranges: Dict[str, Tuple[float, float]],
    cfg: AugmentConfig,
) -> Tuple[np.ndarray, np.ndarray]:
    """Which views are usable, (n,) bool, and each camera's elevation (n,) in degrees (positive:
    looking down). Usable: every joint more than 0.3 m in front of the camera, the elevation
    within ranges["elevation_deg"], at least `cfg.min_inside_frac` of the joints inside the
    image and a height of at least `cfg.min_height_px` pixels. Xc (n, 17, 3) metres, uv
    (n, 17, 2) pixels, R (n, 3, 3) world -> camera, size (n, 2) width, height pixels."""
    fwd_world = R[:, 2]  # optical axis in world coordinates
    elev = np.degrees(np.arcsin(np.clip(-fwd_world[:, 1], -1, 1)))
    ok = (
        (Xc[..., 2].min(1) > 0.3)
        & (elev >= ranges["elevation_deg"][0])
        & (elev <= ranges["elevation_deg"][1])
    )
    inside = (
        (uv[..., 0] >= 0)
        & (uv[..., 0] < size[:, :1])
        & (uv[..., 1] >= 0)
        & (uv[..., 1] < size[:, 1:])
    ).mean(1)
    height = uv[..., 1].max(1) - uv[..., 1].min(1)
    ok &= (inside >= cfg.min_inside_frac) & (height >= cfg.min_height_px)
    return ok, elev


def sample_views(
    P: np.ndarray,
    rng: np.random.Generator,
    ranges: Dict[str, Tuple[float, float]],
    cfg: AugmentConfig = AugmentConfig(),
    max_tries: int = 20,
    image_size: Tuple[int, int] | None = None,
    principal_jitter: float = 0.03,
) -> Views:
    """Place a random camera for each world skeleton (N, 17, 3) and project it.

    The pelvis is moved to the horizontal origin. Each camera sits at a horizontal distance,
    azimuth (any) and height drawn from `ranges`, looks at the pelvis, then turns so that the
    pelvis lands at a random point of the central 70% of the image, and rolls slightly.
    Samples whose camera elevation falls outside the range, whose joints are behind or within
    0.3 m of the camera, that are smaller than `min_height_px`, or that have fewer than
    `min_inside_frac` of their joints inside the image are drawn again.
    image_size fixes (width, height) for every sample; principal_jitter is the standard deviation
    of the principal point's offset from the image centre, as a fraction of the image size.
    """
    N = len(P)
    P = P.copy()
    P[:, :, [0, 2]] -= P[:, J["pelvis"]][:, None, [0, 2]]
    out = {k: None for k in ("Xc", "uv", "K", "size", "elev", "dist", "R")}
    todo = np.arange(N)
    for _ in range(max_tries):
        Pi = P[todo]
        pelvis = Pi[:, J["pelvis"]]
        K, size = _draw_intrinsics(rng, len(todo), ranges, image_size, principal_jitter)
        R, C = _draw_poses(rng, ranges, pelvis, K, size)
        Xc = np.einsum("nij,nkj->nki", R, Pi - C[:, None])
        uv = _project_views(Xc, K)
        ok, elev = _valid_views(Xc, uv, R, size, ranges, cfg)
        for key, val in (
            ("Xc", Xc),
            ("uv", uv),
            ("K", K),
            ("size", size),
            ("elev", elev),
            ("dist", np.linalg.norm(C - pelvis, axis=-1)),
            ("R", R),
        ):
            if out[key] is None:
                out[key] = np.zeros((N,) + val.shape[1:])
            out[key][todo[ok]] = val[ok]
        todo = todo[~ok]
        if len(todo) == 0:
            break
    keep = np.ones(N, bool)
    keep[todo] = False  # samples that never found a valid camera are dropped
    return Views(
        out["Xc"][keep],
        out["uv"][keep],
        out["K"][keep],
        out["size"][keep],
        out["elev"][keep],
        out["dist"][keep],
        {"kept": keep, "R": out["R"][keep]},
    )


_SWAPPABLE = tuple(  # (left joints, right joints) of the arms and of the legs
    (np.array([J[f"left_{a}"], J[f"left_{b}"]]), np.array([J[f"right_{a}"], J[f"right_{b}"]]))
    for a, b in (("elbow", "wrist"), ("knee", "ankle"))
)


def detector_errors(
    keypoints: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig
) -> np.ndarray:
    """Detector-style errors on pixels (N, 17, 2), same shape out: noise of sd drawn from
    `cfg.noise_rel` times the person's height in the image, with probability `p_outlier_joint`
    per joint a jump of `outlier_rel` times that height in a random direction, and with
    probability `p_side_swap` per person the left and right elbows and wrists, or knees and
    ankles, exchanged."""
    N = len(keypoints)
    kp = keypoints.copy()
    height = np.ptp(keypoints[..., 1], axis=1)  # (N,) px
    sd = rng.uniform(*cfg.noise_rel, N) * height
    kp += rng.standard_normal(kp.shape) * sd[:, None, None]
    jump = rng.random(kp.shape[:2]) < cfg.p_outlier_joint
    angle = rng.uniform(0.0, 2 * np.pi, kp.shape[:2])
    size = rng.uniform(*cfg.outlier_rel, kp.shape[:2]) * height[:, None]
    step = np.stack([np.cos(angle), np.sin(angle)], -1) * (size * jump)[..., None]
    kp += step
    swap = np.flatnonzero(rng.random(N) < cfg.p_side_swap)
    limb = rng.integers(0, 2, len(swap))  # 0: the arms, 1: the legs
    for k, (left, right) in enumerate(_SWAPPABLE):
        rows = swap[limb == k][:, None]
        kp[rows, left], kp[rows, right] = kp[rows, right], kp[rows, left]
    return kp


def corrupt_2d(
    keypoints: np.ndarray,
    rng: np.random.Generator,
    cfg: AugmentConfig,
    noise_px: float | None = None,
) -> Tuple[np.ndarray, np.ndarray]:
    """2D augmentation: Gaussian pixel noise, dropped joints and detector-style layouts.

    keypoints: (N, 17, 2) pixels. noise_px: a fixed sigma for evaluation, or None to draw one
    per sample from cfg. Returns (keypoints (N, 17, 2), confidence (N, 17)). Dropped joints have
    confidence 0; kept ones 1 (training does not model detector scores beyond presence).
    """
    N = len(keypoints)
    if noise_px is None:
        sigma = rng.uniform(*cfg.noise_px, N) * (rng.random(N) < cfg.p_noise)
    else:
        sigma = np.full(N, float(noise_px))
    kp = keypoints + rng.standard_normal(keypoints.shape) * sigma[:, None, None]
    conf = np.ones(keypoints.shape[:2])
    if noise_px is None and (
        cfg.noise_rel[1] > 0 or cfg.p_outlier_joint > 0 or cfg.p_side_swap > 0
    ):
        kp = detector_errors(kp, rng, cfg)
    if noise_px is None:
        conf[rng.random(conf.shape) < cfg.p_drop] = 0.0
        det = rng.random(N) < cfg.p_detector_layout
        conf[np.ix_(det, [J[n] for n in DETECTOR_MISSING])] = 0.0
        conf[:, J["pelvis"]] = np.minimum(conf[:, J["left_hip"]], conf[:, J["right_hip"]])
        conf[:, J["thorax"]] = np.minimum(
            conf[:, J["left_shoulder"]], conf[:, J["right_shoulder"]]
        )
    return kp, conf
