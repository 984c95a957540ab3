import numpy as np

from pose_lifting_core.tooling.data.synth import rotation_about
from pose_lifting_core.frames import (
    body_rotations,
    joints_in_body_frames,
    matrix_from_quaternion,
    quaternion_from_matrix,
)
from pose_lifting_core.skeleton import JOINT_NAMES


def test_quaternion_round_trip():
    rng = np.random.default_rng(0)
    R = rotation_about(rng.normal(size=(200, 3)), rng.uniform(0, np.pi, 200))
    q = quaternion_from_matrix(R)
    np.testing.assert_allclose(np.linalg.norm(q, axis=-1), 1.0)
    np.testing.assert_allclose(matrix_from_quaternion(q), R, atol=1e-9)


def test_body_frame_of_a_person_facing_the_camera():
    """In the optical frame (y down, z forward) a person facing the camera faces -z, and their
    left hip appears on the image's right (+x)."""
    J = np.zeros((1, 17, 3))
    idx = {n: i for i, n in enumerate(JOINT_NAMES)}
    J[0, idx["left_hip"]] = [0.1, 0, 3]
    J[0, idx["right_hip"]] = [-0.1, 0, 3]
    J[0, idx["thorax"]] = [0, -0.5, 3]
    J[0, idx["pelvis"]] = [0, 0, 3]
    R = body_rotations(J)[0]
    np.testing.assert_allclose(R[:, 0], [0, 0, -1], atol=1e-12)  # forward: towards the camera
    np.testing.assert_allclose(R[:, 1], [1, 0, 0], atol=1e-12)  # left
    np.testing.assert_allclose(R[:, 2], [0, -1, 0], atol=1e-12)  # up = -y (optical y is down)
    assert np.isclose(np.linalg.det(R), 1.0)


def test_body_rotations_are_proper_rotations_for_any_pose():
    rng = np.random.default_rng(1)
    R = body_rotations(rng.normal(size=(100, 17, 3)))
    np.testing.assert_allclose(
        R.transpose(0, 2, 1) @ R, np.broadcast_to(np.eye(3), R.shape), atol=1e-12
    )
    np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=1e-12)
    q = quaternion_from_matrix(R)
    assert (q[:, 3] >= 0).all()
    np.testing.assert_allclose(matrix_from_quaternion(q), R, atol=1e-9)


def test_joints_in_the_body_frame_of_a_person_facing_the_camera():
    """REP-155's body frame seen from inside: the left hip on +y, the head on +z, the right hip
    on -y, the pelvis at the origin; right-handed, so +x is out of the body's front."""
    from conftest import STANDING

    J = (STANDING + [0.3, 0.1, 3.0])[None]  # left hip at +x in the image: facing the camera
    local = joints_in_body_frames(J, body_rotations(J))[0]
    idx = {n: i for i, n in enumerate(JOINT_NAMES)}
    np.testing.assert_allclose(local[idx["pelvis"]], 0.0, atol=1e-12)
    np.testing.assert_allclose(local[idx["left_hip"]], [0, 0.1, 0], atol=1e-12)
    np.testing.assert_allclose(local[idx["right_hip"]], [0, -0.1, 0], atol=1e-12)
    np.testing.assert_allclose(local[idx["head"]], [0, 0, 0.65], atol=1e-12)
    assert local[idx["left_ankle"]][2] < -0.8 and local[idx["left_wrist"]][1] > 0.2


def test_camera_body_joint_composes_to_the_joint_for_any_pose():
    """camera -> body_<id> (pelvis, the published quaternion) -> <joint>_<id> (joints_in_body_
    frames) gives each joint's camera position, also for degenerate bodies (hips at one point,
    every joint at one point), where the body axes are not orthonormal before the quaternion."""
    rng = np.random.default_rng(2)
    J = rng.normal(size=(50, 17, 3)) + [0, 0, 4]
    J[0] = J[0, :1]  # every joint at one point
    idx = {n: i for i, n in enumerate(JOINT_NAMES)}
    J[1, idx["left_hip"]] = J[1, idx["right_hip"]]  # hips at one point
    R = matrix_from_quaternion(quaternion_from_matrix(body_rotations(J)))
    local = joints_in_body_frames(J, R)
    camera = np.einsum("nij,nkj->nki", R, local) + J[:, idx["pelvis"]][:, None]
    np.testing.assert_allclose(camera, J, atol=1e-9)
