package tracee.RGO_2

import data.tracee.helpers

__rego_metadoc__ := {
	"id": "RGO-2",
	"version": "0.1.0",
	"name": "Anti-Debugging",
	"description": "Process uses anti-debugging technique to block debugger (Rego twin of TRC-2)",
	"tags": ["linux", "container"],
	"properties": {
		"Severity": 3,
		"MITRE ATT&CK": "Defense Evasion: Execution Guardrails",
	},
}

tracee_selected_events[eventSelector] {
	eventSelector := {"source": "tracee", "name": "ptrace"}
}

tracee_match {
	input.eventName == "ptrace"
	arg := input.args[_]
	arg.name == "request"
	arg.value == "PTRACE_TRACEME"
}
