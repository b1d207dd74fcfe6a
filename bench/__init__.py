"""Benchmarks: one script per capability (run them as scripts: python bench/NAME.py)."""
