"""Rendering: meshes over photos (offscreen VTK), 2D skeletons and keypoints, chain colours."""
