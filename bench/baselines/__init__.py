"""Naive baselines the benchmarks measure the platform against."""
