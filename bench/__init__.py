"""Benchmarks of the product: `python -m bench.run` (see docs/benchmarks.md)."""
