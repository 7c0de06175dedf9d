"""Body model layer: SMPL kinematic tree, HKMR chains, safe loading of SMPL-format files, posing."""
