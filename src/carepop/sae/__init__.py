"""Small-area estimation (issue 12): Fay–Herriot (plain and spatial), unit-level (Battese–Harter–Fuller)
and empirical best prediction, variance smoothing, transformations, benchmarking and diagnostics.

Builds on :mod:`carepop.core` and the area tables of :mod:`carepop.sources`; never imports measures,
capture, outputs, pipeline or the CLI (the layer contract in pyproject.toml).
"""
