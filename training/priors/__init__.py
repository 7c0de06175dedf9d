"""Pose priors trained on the pose library: the VAE of HKMR's L_KL and a Gaussian mixture for SMPLify."""
