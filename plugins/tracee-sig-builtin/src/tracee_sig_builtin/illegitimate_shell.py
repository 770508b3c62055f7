"""TRC-12: a web server process executes a shell: a sign the server is being exploited."""

from __future__ import annotations

from typing import Any

from tracee import Event, EventSelector, Signature, SignatureError
from tracee.predicates import arg as field, context

from ._common import arg, check_settings, metadata, names_setting

SHELLS = ("/ash", "/bash", "/csh", "/ksh", "/sh", "/tcsh", "/zsh", "/dash")
# "httpd-foregroun" is httpd-foreground cut to the kernel's 15-character comm.
WEB_SERVERS = ("nginx", "httpd", "httpd-foregroun", "lighttpd", "apache", "apache2")


class IllegitimateShell(Signature):
    """security_bprm_check of a path ending in a shell's name (/bash, /sh, ...) while the process
    is still a web server (its comm is the server's until the exec completes). The config extends
    both lists: `web_servers` (process names) and `shells` (program names, e.g. "fish")."""

    metadata = metadata(
        "TRC-12", "Illegitimate Shell",
        "A program on your server spawned a shell program. Shell is the linux command-line program, server "
        "programs usually don't run shell programs, so this alert might indicate an adversary is exploiting "
        "a server program to spawn a shell on your server.",
        2, "Initial Access: Exploit Public-Facing Application")
    def get_selected_events(self) -> list[EventSelector]:
        return [EventSelector("security_bprm_check", where=(
            field("pathname").endswith(*self.shells), context("process_name").one_of(*sorted(self.web_servers))))]

    def __init__(self) -> None:
        self.shells = SHELLS
        self.web_servers = frozenset(WEB_SERVERS)

    def configure(self, settings: dict[str, Any]) -> None:
        check_settings(settings, ("shells", "web_servers"))
        if "web_servers" in settings:
            extra = names_setting("web_servers", settings["web_servers"], comm=True)
            self.web_servers = frozenset(WEB_SERVERS).union(extra)
        if "shells" in settings:
            names = names_setting("shells", settings["shells"])
            if any("/" in n.strip("/") for n in names):
                raise SignatureError("setting 'shells': give program names such as 'fish', not paths")
            self.shells = tuple(dict.fromkeys(SHELLS + tuple("/" + n.strip("/") for n in names)))

    def on_event(self, event: Event) -> None:
        if event.event_name != "security_bprm_check" or event.process_name not in self.web_servers:
            return
        path = arg(event, "pathname")
        if type(path) is str and path.endswith(self.shells):
            self.match(event, None)
