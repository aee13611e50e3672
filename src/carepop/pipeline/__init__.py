"""Whole runs of the chain: the demo on bundled data (:mod:`~carepop.pipeline.demo`) and, with
issue 15, config-driven runs (``carepop run CONFIG.toml``) writing an output folder and manifest.

The top library layer: it may use outputs, measures and everything below, never the CLI.
"""
