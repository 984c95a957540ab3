"""pose_lifting_ros: thin ROS 2 nodes around pose_lifting_core.

Owns: the nodes (`pose_lifter`, `keypoint_lifter`, `video_source`), their entry points
(`main`) and how a node process runs and stops (`runner`), their parameters (`params`), message
conversions (`conversions`), markers and TF (`visualization`), and the one place that picks the
real ROS libraries or their small fallbacks (`compat`). No maths here:
everything numeric is in pose_lifting_core.
"""

import os

# torch's OpenMP worker threads otherwise keep spinning after each multi-threaded lift and take
# the CPU from the detector that runs next (docs/BENCHMARKS.md, "after the detector"). OpenMP
# reads this when torch loads, so it acts in the processes that import this package before
# torch: the nodes. An explicit setting is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
