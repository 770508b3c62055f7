"""Kernel-side pieces shared by every input: the event catalog and the argument decoders."""
