"""Deprecated name of `tracee.events` (it never held BPF code); kept for one release.

`tracee.bpf.catalog` and `tracee.bpf.decoders` are the `tracee.events` modules themselves, so
definitions and their types are shared with code that has moved on.
"""

from __future__ import annotations

import sys
import warnings

from tracee.events import catalog, decoders

warnings.warn("tracee.bpf is deprecated and will be removed in the next release: import tracee.events "
              "(tracee.events.catalog, tracee.events.decoders) instead", DeprecationWarning, stacklevel=2)

# `import tracee.bpf.catalog` finds these once this package has run: no module files needed.
sys.modules[__name__ + ".catalog"] = catalog
sys.modules[__name__ + ".decoders"] = decoders

__all__ = ["catalog", "decoders"]
