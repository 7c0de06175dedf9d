"""HKMR Studio: interactive 3D human mesh recovery with the Hierarchical Kinematic Human Mesh Recovery regressor."""

__version__ = "0.1.0"
