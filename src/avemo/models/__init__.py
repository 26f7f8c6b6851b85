"""Encoders (audio, visual), pooling, heads and the name -> class registry."""
