import numpy as np
import pytest
import torch

from pose_lifting_core.tooling.metrics import (
    body_size,
    mpjpe_mm,
    n_mpjpe_mm,
    pa_mpjpe_mm,
    procrustes_align,
    root_error,
    size_ratio,
)
from pose_lifting_core.tooling.data.synth import rotation_about


def test_mpjpe_known_value():
    gt = np.zeros((2, 17, 3))
    pred = gt.copy()
    pred[..., 0] = 0.03
    assert mpjpe_mm(pred, gt) == pytest.approx(30.0)


def test_pa_mpjpe_removes_similarity_transform():
    rng = np.random.default_rng(0)
    gt = rng.normal(0, 0.3, (10, 17, 3))
    R = rotation_about(rng.normal(size=(10, 3)), rng.uniform(0, 3, 10))
    pred = 1.3 * np.einsum("nij,nkj->nki", R, gt) + rng.normal(0, 1, (10, 1, 3))
    assert pa_mpjpe_mm(pred, gt) < 1e-6
    assert mpjpe_mm(pred, gt) > 100


def test_procrustes_never_reflects():
    rng = np.random.default_rng(1)
    gt = rng.normal(0, 0.3, (5, 17, 3))
    mirrored = gt * np.array([-1, 1, 1])
    aligned = procrustes_align(mirrored, gt)
    assert mpjpe_mm(aligned, gt) > 1.0


def test_root_error():
    assert root_error(np.array([[3.0, 4.0, 0.0]]), np.zeros((1, 3)))[0] == pytest.approx(5.0)


def test_scale_aligned_error_and_size_ratio_known_answers():
    rng = np.random.default_rng(2)
    gt = rng.normal(0, 0.3, (6, 17, 3))
    gt -= gt[:, :1]  # root-relative
    small = 0.8 * gt
    assert size_ratio(small, gt) == pytest.approx(0.8)
    np.testing.assert_allclose(
        body_size(torch.as_tensor(small)).numpy(), 0.8 * body_size(gt)
    )  # torch in, torch out, the same values
    assert n_mpjpe_mm(small, gt) < 1e-6 and mpjpe_mm(small, gt) > 10
    turned = gt * np.array([-1.0, -1.0, 1.0])  # turned 180 degrees about z: scale cannot undo it
    assert size_ratio(turned, gt) == pytest.approx(1.0)
    assert n_mpjpe_mm(turned, gt) > 100
