"""The fuse stage: late and attention fusion of the audio and visual stream models."""
