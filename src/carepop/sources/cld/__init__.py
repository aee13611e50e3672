"""Adult social care client-level data (CLD): schema, validation, aggregation on DuckDB or Spark."""
