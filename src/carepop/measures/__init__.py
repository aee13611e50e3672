"""Published measures by council (issues 13-14): unpaid and hidden carers, unmet need, self-funders,
the workforce and demand projections, each with an interval and the parts it was built from.

May use sae, capture, weighting, sampling, questionnaires, sources and core; never outputs,
pipeline or the CLI.
"""
