package tracee.RGO_11

import data.tracee.helpers

__rego_metadoc__ := {
	"id": "RGO-11",
	"version": "0.1.0",
	"name": "Container Device Mount Detected",
	"description": "Container device filesystem mount detected (Rego twin of TRC-11)",
	"tags": ["container"],
	"properties": {
		"Severity": 3,
		"MITRE ATT&CK": "Privilege Escalation: Escape to Host",
	},
}

tracee_selected_events[eventSelector] {
	eventSelector := {"source": "tracee", "name": "security_sb_mount", "origin": "container"}
}

tracee_match = res {
	input.eventName == "security_sb_mount"
	dev_name := helpers.get_tracee_argument("dev_name")
	startswith(dev_name, "/dev/")
	not is_runc_init
	res := {"mounted device": dev_name}
}

is_runc_init {
	startswith(input.processName, "runc:")
	input.threadId == 1
}
