"""Inputs the core ships itself (each registered through an entry point like any plugin)."""
