"""Scorers: choice parsing, the judge panel (pairwise and rubric), validation scorers."""
