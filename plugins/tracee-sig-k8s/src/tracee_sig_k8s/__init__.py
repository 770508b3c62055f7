"""tracee-sig-k8s: container and Kubernetes attack rules (K8S-1 ... K8S-6), shipped as a pip-installable pack.

The rules written as data live in `rules/` (Rego and CEL files, loaded by tracee-sig-rego and
tracee-sig-cel); the one that needs state is Python (`runtime_socket.py`). `plugin.py` is the
entry point that tells tracee about both.
"""
