package tracee.TCR_1
import data.tracee.helpers
__rego_metadoc__ := {
"id": "TCR-1",
"version": "1.0.0",
"name": "cmd whoami",
"description": "cmd whoami",
"tags": ["linux", "container"],
"properties": {
"Severity": 2,
"MITRE ATT&CK": "cmd",
}
}
eventSelectors := [
{
"source": "tracee",
"name": "execve"
}
]
tracee_selected_events[eventSelector] {
eventSelector := eventSelectors[_]
}
tracee_match {
input.eventName == "execve"
pathname = helpers.get_tracee_argument("pathname")
startswith(pathname, "/usr/bin/whoami")
}
