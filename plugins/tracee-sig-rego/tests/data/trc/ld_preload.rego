package tracee.RGO_7

import data.tracee.helpers

__rego_metadoc__ := {
	"id": "RGO-7",
	"version": "0.1.0",
	"name": "LD_PRELOAD",
	"description": "Usage of LD_PRELOAD to allow hooks on process (Rego twin of TRC-7)",
	"tags": ["linux", "container"],
	"properties": {
		"Severity": 2,
		"MITRE ATT&CK": "Persistence: Hijack Execution Flow",
	},
}

eventSelectors := [
	{"source": "tracee", "name": "execve"},
	{"source": "tracee", "name": "security_file_open"},
]

tracee_selected_events[eventSelector] {
	eventSelector := eventSelectors[_]
}

preload_vars := ["LD_PRELOAD", "LD_LIBRARY_PATH"]

tracee_match {
	input.eventName == "execve"
	envp := helpers.get_tracee_argument("envp")
	envvar := envp[_]
	var := preload_vars[_]
	startswith(envvar, var)
}

tracee_match {
	input.eventName == "security_file_open"
	helpers.is_file_write(helpers.get_tracee_argument("flags"))
	helpers.get_tracee_argument("pathname") == "/etc/ld.so.preload"
}
