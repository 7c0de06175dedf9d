"""Rotations, cameras and pose metrics (pure torch)."""
