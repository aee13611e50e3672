"""Design-based estimation: Taylor linearisation (multi-stage, calibration-aware), replicate
variance, domains, quantiles and confidence intervals, each in a small module mirroring its
formulas."""
