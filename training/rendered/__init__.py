"""The rendered set: bodies rendered offscreen as photos, MediaPipe Pose run on every photo, its landmarks stored beside
the exact truth, for training on MediaPipe's real errors and as the realistic synthetic test set."""
