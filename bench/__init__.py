"""Benchmarks, run as modules from the repository root: python -m bench.reception (see bench/README.md)."""
