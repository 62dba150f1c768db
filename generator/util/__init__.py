"""Helpers every stage uses: safe file writes, canonical JSON, ``$ENV`` references, GC pauses."""
