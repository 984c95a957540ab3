"""Training data: BVH motion capture, joint maps per dataset, and synthetic camera views."""
