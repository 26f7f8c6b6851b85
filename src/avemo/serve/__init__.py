"""Serving: read user media (probe, time-span readers) and run the trained models on it."""
