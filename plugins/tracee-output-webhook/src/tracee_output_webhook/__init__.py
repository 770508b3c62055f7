"""tracee output plugin: findings POSTed to HTTP endpoints (rawjson, falcosidekick, Jinja2), never blocking detection."""

from __future__ import annotations

from .payloads import PRIORITIES, falcosidekick, priority
from .sender import Settings, WebhookOutput

__all__ = ["PRIORITIES", "Settings", "WebhookOutput", "falcosidekick", "priority"]
