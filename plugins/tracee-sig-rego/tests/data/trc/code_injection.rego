package tracee.RGO_3

import data.tracee.helpers

__rego_metadoc__ := {
	"id": "RGO-3",
	"version": "0.1.0",
	"name": "Code injection",
	"description": "Possible code injection into another process (Rego twin of TRC-3)",
	"tags": ["linux", "container"],
	"properties": {
		"Severity": 3,
		"MITRE ATT&CK": "Defense Evasion: Process Injection",
	},
}

eventSelectors := [
	{"source": "tracee", "name": "ptrace"},
	{"source": "tracee", "name": "security_file_open"},
	{"source": "tracee", "name": "process_vm_writev"},
]

tracee_selected_events[eventSelector] {
	eventSelector := eventSelectors[_]
}

tracee_match {
	input.eventName == "ptrace"
	helpers.get_tracee_argument("request") == "PTRACE_POKETEXT"
}

tracee_match = res {
	input.eventName == "security_file_open"
	flags := helpers.get_tracee_argument("flags")
	helpers.is_file_write(flags)
	pathname := helpers.get_tracee_argument("pathname")
	regex.match(`/proc/(?:\d.+|self)/mem`, pathname)
	res := {"file flags": flags, "file path": pathname}
}

tracee_match {
	input.eventName == "process_vm_writev"
	helpers.get_tracee_argument("pid") != input.processId
}
