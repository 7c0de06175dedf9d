"""The photo-to-mesh pipeline without Qt: loading images and keypoint files, detecting people, and the later steps."""
