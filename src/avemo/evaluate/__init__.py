"""Evaluation: scores (CCC, PCC, RMSE per dimension) and the report plots."""

from avemo.evaluate.metrics import ccc_numpy, scores

__all__ = ["ccc_numpy", "scores"]
