"""The MLflow model registry: register every model, promote the champion, roll back."""
