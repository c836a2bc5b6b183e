"""Benchmarks reported by `make bench`."""
