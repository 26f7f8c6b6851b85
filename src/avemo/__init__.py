"""avemo: audio-visual emotion recognition in the continuous valence-arousal space."""

__version__ = "0.1.0"
