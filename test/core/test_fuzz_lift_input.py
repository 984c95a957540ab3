"""Fuzzing the `lift` command's input parsing: a clean LiftInput or an InputError, nothing else."""

import os
import tempfile

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pose_lifting_core.tooling.lift_io import InputError, LiftInput, read_lift_input

arrays = st.one_of(
    st.builds(
        lambda n, j, fill: np.full((n, j, 2), fill),
        st.integers(0, 3),
        st.sampled_from([16, 17, 33]),
        st.floats(allow_nan=True, allow_infinity=True, width=32),
    ),
    st.builds(lambda n: np.zeros(n), st.integers(0, 5)),
    st.builds(lambda s: np.array(s), st.text(max_size=12)),
    st.builds(lambda n: np.eye(3) * n, st.floats(-2, 2000, allow_nan=False)),
    st.just(np.zeros((2, 3, 3))),
    st.just(np.array([640, 480])),
    st.just(np.array([[True]])),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    content=st.dictionaries(
        st.sampled_from(
            ["keypoints", "layout", "scores", "K", "image_size", "joints_3d_gt", "junk"]
        ),
        arrays,
        max_size=6,
    ),
    raw=st.one_of(st.none(), st.binary(max_size=200)),
)
def test_read_lift_input(content, raw):
    fd, path = tempfile.mkstemp(suffix=".npz")
    os.close(fd)
    try:
        if raw is not None:
            with open(path, "wb") as fh:
                fh.write(raw)
        else:
            np.savez(path, **content)
        try:
            r = read_lift_input(path)
        except InputError as exc:
            assert "\n" not in str(exc)
            return
        assert isinstance(r, LiftInput)
        assert r.keypoints.ndim == 3 and np.isfinite(r.keypoints).all()
        assert r.K is not None or r.image_size is not None
    finally:
        os.remove(path)
