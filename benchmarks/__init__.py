"""Benchmarks: ``python -m benchmarks`` runs every ``*_bench.py`` module and prints tables."""
