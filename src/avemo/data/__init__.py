"""Corpus readers, the manifest schema and speaker-independent splits."""
