"""Rego signatures in Tracee's rule format."""
