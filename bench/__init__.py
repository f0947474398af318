"""`make bench`: scrip's throughput and latency as ratios to a PostgreSQL reference.

Run as ``python -m bench``. See docs/benchmarks.md for what each figure means.
"""
