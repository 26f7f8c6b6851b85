"""Evaluation: scores (CCC, PCC, RMSE per dimension) and the report plots."""

from avemo.evaluate.metrics import scores

__all__ = ["scores"]
