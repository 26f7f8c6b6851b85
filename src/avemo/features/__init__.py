"""Front-ends (audio log-mel, face crops), augmentations and the feature store."""
