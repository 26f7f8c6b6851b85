"""Prefect flows and deployments (thin: they call the avemo stage commands or DVC)."""
