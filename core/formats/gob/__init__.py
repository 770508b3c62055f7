"""Go's encoding/gob stream of Tracee's trace.Event (v0.8.3): an encoder, and a decoder that
trusts nothing in the stream, both working from and to `tracee.Event`.

`tracee-ebpf -o format:gob` writes what a Go `gob.Encoder` writes when it encodes `trace.Event`
values one after another (with the argument value types Tracee registers), and
`tracee-rules --input-tracee format:gob` reads such a stream. `GobEncoder` and `GobDecoder`
do both, here.

Why hand-written: there is no maintained Python implementation of gob (PyPI has only
abandoned, partial ports) and Go's own package cannot be called from Python. The wire format
is Go's documented one (pkg.go.dev/encoding/gob, "Encoding Details"); tests/interop/go proves
both directions against Go's own encoder and decoder.

The decoder is bounded: a message is at most `Limits.max_message` bytes, every count is
checked against the bytes left in its message before anything is allocated, nesting and the
number of type definitions are capped. A bad message is reported (`GobError`, naming its byte
offset) and skipped; when the framing itself is broken the decoder looks ahead for the next
message that decodes as an event and goes on from there, or stops cleanly.
"""

from .decode import GobDecoder, Limits, loads
from .encode import GobEncoder, dumps
from .types import EVENT, REGISTERED, TRACE, GoType, concrete_type
from .wire import GobEncodeError, GobError

__all__ = ["EVENT", "REGISTERED", "TRACE", "GoType", "GobDecoder", "GobEncodeError", "GobEncoder", "GobError",
           "Limits", "concrete_type", "dumps", "loads"]
