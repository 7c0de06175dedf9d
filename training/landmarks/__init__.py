"""MediaPipe landmarks on the open body, calibrated on renders (`python -m training calibrate-landmarks`).

initial: anatomical starting definitions and candidates; scene: photo-like renders; observe: render + MediaPipe;
fit: the non-negative least-squares fit; statistics: how MediaPipe errs; report: LANDMARKS.md; calibrate: the command.
"""
