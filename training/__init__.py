"""Offline build and training tools for HKMR Studio; run them with `python -m training <command>`."""
