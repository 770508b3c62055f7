"""Tracee's event schema: the catalog of every event (`catalog`) and the argument decoders (`decoders`)."""
