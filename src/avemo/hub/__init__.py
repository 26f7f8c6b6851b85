"""Release fused models to the Hugging Face Hub and pull them back (safetensors only)."""
