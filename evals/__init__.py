"""The Inspect tasks of utility-gap (one module per task family) and the task registry."""
