"""Networks: encoders, the HKMR and HMR regressors, the VAE pose prior, losses (pure torch, no I/O)."""
