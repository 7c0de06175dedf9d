"""Video and webcam takes: frames read in order, the body recovered in each, smoothed over time (Qt-free)."""
