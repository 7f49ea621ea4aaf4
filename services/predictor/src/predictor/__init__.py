"""predictor service."""
