"""model_backend: the stand-in model server the predictor calls in dev, tests and benchmarks."""
