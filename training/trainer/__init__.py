"""Training HKMR and HMR regressors with PyTorch Lightning: `python -m training train` and `python -m training export`.

config (typed run settings), data (the synthetic stream, network inputs), module (the Lightning module, Eq. 3),
spin / smplify (SMPLify in the loop), run (the train command), export (the app's model file).
"""
