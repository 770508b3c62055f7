package tracee.RGO_15

import data.tracee.helpers

__rego_metadoc__ := {
	"id": "RGO-15",
	"version": "0.1.0",
	"name": "Hooking system calls by overriding the system call table entries",
	"description": "Usage of kernel modules to hook system calls (Rego twin of TRC-15)",
	"tags": ["linux"],
	"properties": {
		"Severity": 4,
		"MITRE ATT&CK": "Persistence: Hooking system calls entries in the system-call table",
	},
}

tracee_selected_events[eventSelector] {
	eventSelector := {"source": "tracee", "name": "hooked_syscalls", "origin": "*"}
}

tracee_match = {"hooked syscall": hooked} {
	input.eventName == "hooked_syscalls"
	hooked := helpers.get_tracee_argument("hooked_syscalls")
	count(hooked) > 0
}
