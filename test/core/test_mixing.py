"""Mixing datasets by dataset and pose-category weights."""

import numpy as np
import pytest

from pose_lifting_core.tooling.data.mixing import mixing_probabilities
from pose_lifting_core.tooling.data.poses import CATEGORIES

C = {n: i for i, n in enumerate(CATEGORIES)}
NAMES = ("bandai", "accad")
# bandai: 900 standing, 100 one_leg; accad: 400 standing, 100 floor
IDS = np.array([0] * 1000 + [1] * 500)
CATS = np.array(
    [C["standing"]] * 900 + [C["one_leg"]] * 100 + [C["standing"]] * 400 + [C["floor"]] * 100
)


def _share(p, dataset=None, category=None):
    m = np.ones(len(p), bool)
    if dataset is not None:
        m &= IDS == NAMES.index(dataset)
    if category is not None:
        m &= CATS == C[category]
    return p[m].sum()


def test_dataset_shares_follow_their_weights_whatever_their_size():
    p = mixing_probabilities(IDS, CATS, NAMES, {"bandai": 1.0, "accad": 3.0, "hdm05": 5.0})
    assert p.sum() == pytest.approx(1.0)
    assert _share(p, "bandai") == pytest.approx(0.25) and _share(p, "accad") == pytest.approx(0.75)


def test_balance_one_keeps_the_capture_mix_and_zero_equalises_categories():
    w = {"bandai": 1.0, "accad": 1.0}
    natural = mixing_probabilities(IDS, CATS, NAMES, w, balance=1.0)
    assert _share(natural, "bandai", "one_leg") / _share(natural, "bandai") == pytest.approx(0.1)
    equal = mixing_probabilities(IDS, CATS, NAMES, w, balance=0.0)
    assert _share(equal, "bandai", "one_leg") == pytest.approx(_share(equal, "bandai", "standing"))
    tempered = mixing_probabilities(IDS, CATS, NAMES, w)  # balance 0.5: sqrt of the counts
    assert _share(tempered, "bandai", "one_leg") / _share(tempered, "bandai") == pytest.approx(
        10 / (30 + 10)
    )
    # within a (dataset, category) cell every frame is equally likely
    cell = tempered[(IDS == 1) & (CATS == C["floor"])]
    np.testing.assert_allclose(cell, cell[0])


def test_category_weights_scale_and_zero_removes():
    w = {"bandai": 1.0, "accad": 1.0}
    p = mixing_probabilities(IDS, CATS, NAMES, w, {"floor": 0.0, "one_leg": 3.0}, balance=0.0)
    assert _share(p, category="floor") == 0.0
    assert _share(p, "accad") == pytest.approx(0.5)  # accad's share goes to its other category
    assert _share(p, "bandai", "one_leg") == pytest.approx(3 * _share(p, "bandai", "standing"))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"dataset_weights": {"bandai": 0.0, "accad": 0.0}}, "every dataset present has weight 0"),
        ({"dataset_weights": {"bandai": -1.0, "accad": 1.0}}, "negative"),
        ({"balance": 1.5}, r"balance must be in \[0, 1\]"),
        (
            {"category_weights": {c: 0.0 for c in CATEGORIES}},
            "every category present has weight 0",
        ),
    ],
)
def test_impossible_mixes_are_refused_with_the_reason(kwargs, message):
    with pytest.raises(ValueError, match=message):
        mixing_probabilities(IDS, CATS, NAMES, **kwargs)
