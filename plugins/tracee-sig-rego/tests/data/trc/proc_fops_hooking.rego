package tracee.RGO_16

import data.tracee.helpers

__rego_metadoc__ := {
	"id": "RGO-16",
	"version": "0.1.0",
	"name": "Hooking proc file system file operations by overriding the function pointers",
	"description": "Usage of kernel modules to hook file operations (Rego twin of TRC-16)",
	"tags": ["linux"],
	"properties": {
		"Severity": 4,
		"MITRE ATT&CK": "Defense Evasion: Rootkit",
	},
}

tracee_selected_events[eventSelector] {
	eventSelector := {"source": "tracee", "name": "hooked_proc_fops", "origin": "*"}
}

tracee_match = {"hooked file_operations": hooked} {
	input.eventName == "hooked_proc_fops"
	hooked := helpers.get_tracee_argument("hooked_fops_pointers")
	count(hooked) > 0
}
