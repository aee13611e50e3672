"""Sample design: sample sizes and allocation across strata."""
