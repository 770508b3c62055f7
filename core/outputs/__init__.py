"""Outputs the core ships: findings on stdout, as Tracee's detection block or rawjson lines."""
