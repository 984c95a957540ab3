"""pose_lifting_core.tooling: everything a robot does not run; the nodes never import it.

Owns: the `pose-lifting` command line (`cli`), training (`train`), evaluation (`evaluate`,
`metrics`), self-supervised adaptation (`adapt`, `selfsup`, `adapt_check`), the `lift` file
formats (`lift_io`), pictures of results (`render`) and the training data readers (`data/`:
bvh, asf, mocap, poses, mixing, synth).

It imports the runtime beside it (pose_lifting_core: camera, codec, model, lifter, solvers,
pipeline, detection, ...), never the other way round: what pose_lifter, keypoint_lifter and
video_source import holds no tooling module (test/test_layout.py). The one import of the ROS
package from here is the CLI's bag commands, which use pose_lifting_ros.bag (pure Python,
rosbags; no rclpy).
"""
