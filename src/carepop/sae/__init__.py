"""Small-area estimation: model-based estimates for areas whose samples are too small to publish.

Entry points (each returns :class:`~carepop.sae.results.AreaEstimates`: one row per area with the
direct estimate, the model estimate, its MSE, interval and shrinkage, plus the fit and notes):

=================================================  =============================================
:func:`carepop.sae.area_level.fay_herriot`         Fay–Herriot from direct estimates (a survey's
                                                   domain ``Estimates`` or any table with SEs),
                                                   plain or spatial; transformations, smoothed
                                                   variances, benchmarking, diagnostics
:func:`carepop.sae.unit_models.bhf`                unit-level nested-error EBLUPs of area means
:func:`carepop.sae.unit_models.ebp`                EBPs of area proportions (logistic mixed model)
=================================================  =============================================

The modules mirror the maths, one model or step each:

- ``areas`` (direct estimates joined to area covariates, checks), ``covariates`` (design matrices
  with R's treatment contrasts), ``variance`` (smoothed sampling variances: p(1−p)/n_eff, GVF);
- ``fay_herriot`` (REML, ML, FH moment and adjusted REML fits; EBLUP; Prasad–Rao, Datta–Lahiri,
  Datta–Rao–Smith and Li–Lahiri MSEs), ``fh_bootstrap`` and ``_fh_engine`` (vectorised Fisher
  scoring shared by the fit and the bootstrap);
- ``spatial`` (SAR Fay–Herriot, as R ``sae::eblupSFH`` / ``mseSFH``), ``proximity`` (proximity
  matrices from a file or the councils' shared boundaries);
- ``unit_level`` with ``unit_level_data`` and ``unit_level_reml`` (Battese–Harter–Fuller), ``glmm``
  and ``ebp`` (logistic mixed model and empirical best predictor);
- ``transforms`` (arcsine, logit, log with bias-corrected back-transformation), ``benchmark``
  (ratio, additive, MSE-adjusted; one or two levels), ``diagnostics`` and ``plots``;
- ``results`` (the records).

Builds on :mod:`carepop.core` and the area tables of :mod:`carepop.sources`; never imports measures,
capture, outputs, pipeline or the CLI (the layer contract in pyproject.toml).
"""
