"""Synthetic training batches for the keypoint regressor (`generator.SampleGenerator`).

poses: the pose library and perturbations; views: orientations in the camera frame; cameras: virtual photos and
crops; self_occlusion: point-splat visibility; detector_model: MediaPipe's measured errors; corruption: applying them;
bench: `python -m training.samples.bench`.
"""
