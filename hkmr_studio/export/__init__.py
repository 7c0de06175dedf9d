"""Mesh and parameter exports (OBJ, GLB, FBX, JSON, NPZ), all written atomically."""

#: Output formats besides the overlay PNG, and the ones written when none are asked for.
FORMATS = ("json", "npz", "obj", "glb", "fbx")
DEFAULT_FORMATS = ("json", "obj")
