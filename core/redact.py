"""Credentials out of everything tracee prints: URLs with user:password, in messages and errors."""

from __future__ import annotations

import re
import urllib.parse

__all__ = ["redact_text", "redact_url"]

# scheme://userinfo@host...: the userinfo is everything before the last '@' of the authority
# (urllib's reading), so a password holding a raw '@' is covered whole.
_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)([^/?#\s\"'<>]*)@")


def redact_url(url: str) -> str:
    """`url` with its user and password replaced by `***` (the URL itself when it has none)."""
    try:
        parts = urllib.parse.urlsplit(url)
        hostname, port = parts.hostname, parts.port
    except ValueError:  # not parseable as a URL (bad port...): mask by pattern
        return redact_text(url)
    if parts.username is None and parts.password is None:
        return redact_text(url)  # credentials may still hide where urlsplit does not look
    netloc = hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if port:
        netloc += f":{port}"
    return urllib.parse.urlunsplit((parts.scheme, "***@" + netloc, parts.path, parts.query, ""))


def redact_text(text: str) -> str:
    """`text` with the credentials of every URL in it replaced by `***`."""
    if "@" not in text:
        return text
    return _CREDENTIALS.sub(lambda m: m.group(1) + "***@", text)
