"""Training loop, metrics and the model container."""
