"""entry point (placeholder)."""
