"""Capture–recapture and multiple-systems estimation (issue 13): two-list estimators, log-linear
models for three or more lists, heterogeneity models, and linkage of person-level lists by a keyed
hash.

Sits beside :mod:`carepop.sae` in the layer contract: it may use core, never measures, outputs,
pipeline or the CLI.
"""
