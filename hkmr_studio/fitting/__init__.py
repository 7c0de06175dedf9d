"""Optimisation-based fitting: SMPLify on 2D keypoints and inverse kinematics on 3D joints."""
