"""The alerting sensor: failing checks, low health, critical errors and spikes become alerts."""
