"""Developer tooling shared by `make run`, the end-to-end tests and the benchmarks."""
