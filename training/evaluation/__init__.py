"""Evaluation of model files on a fixed synthetic test set: `python -m training evaluate`.

testset (the seeded set, its occlusion grid and one set per pose family), evaluate (MPJPE / PA-MPJPE per chain and joint, occlusion means),
report (table and plot), command (the CLI).
"""

#: Test set size: evaluating two models takes about 20 s on 2 CPU cores (see training/README.md).
DEFAULT_SAMPLES = 1024
DEFAULT_OCCLUSION_SAMPLES = 64
#: Samples per pose family (training.poses): 24 families x 64, errors per family for what the mocap library lacks.
DEFAULT_PER_FAMILY = 64
