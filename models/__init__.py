"""Model providers of this package: the simulated provider and the embedded default model."""
