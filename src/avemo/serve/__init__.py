"""Serving: run the trained models on user media (read through :mod:`avemo.media`)."""
