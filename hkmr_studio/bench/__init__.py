"""Speed and memory benchmarks (`hkmr-studio bench ...`): each prints what it measures on this machine, ratios from one
run."""
