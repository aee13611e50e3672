"""Outputs (issue 15): disclosure control (the only place it lives), tables (CSV, Parquet, XLSX),
plots, maps and the HTML report.

May use measures and everything below; never the pipeline or the CLI.
"""
