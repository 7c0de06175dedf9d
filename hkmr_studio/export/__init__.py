"""Mesh and parameter exports (OBJ, GLB, FBX, JSON, NPZ), all written atomically."""
