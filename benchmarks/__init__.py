"""Benchmarks: scripts that print figures.

Run them from the repository root as `python -m benchmarks.NAME`.
"""
