"""Synthetic datasets with a known answer (`truth.json`), for demos, tests and benchmarks."""
