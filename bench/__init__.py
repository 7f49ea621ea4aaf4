"""Benchmarks: one script per workload (run with .venv/bin/python bench/<name>.py)."""
