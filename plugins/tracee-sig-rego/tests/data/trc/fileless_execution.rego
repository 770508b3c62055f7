package tracee.RGO_5

import data.tracee.helpers

__rego_metadoc__ := {
	"id": "RGO-5",
	"version": "0.1.0",
	"name": "Fileless Execution",
	"description": "Executing a process from memory, without a file in the disk (Rego twin of TRC-5)",
	"tags": ["linux", "container"],
	"properties": {
		"Severity": 2,
		"MITRE ATT&CK": "Defense Evasion: Obfuscated Files or Information",
	},
}

tracee_selected_events[eventSelector] {
	eventSelector := {"source": "tracee", "name": "sched_process_exec"}
}

tracee_match {
	input.eventName == "sched_process_exec"
	pathname := helpers.get_tracee_argument("pathname")
	startswith(pathname, "memfd:")
	not startswith(pathname, "memfd:runc")
	input.containerId == ""
}

tracee_match {
	input.eventName == "sched_process_exec"
	startswith(helpers.get_tracee_argument("pathname"), "memfd:")
	input.containerId != ""
}

tracee_match {
	input.eventName == "sched_process_exec"
	startswith(helpers.get_tracee_argument("pathname"), "/dev/shm")
}

tracee_match {
	input.eventName == "sched_process_exec"
	startswith(helpers.get_tracee_argument("pathname"), "/run/shm")
}
