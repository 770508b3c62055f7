package tracee.RGO_4

import data.tracee.helpers

__rego_metadoc__ := {
	"id": "RGO-4",
	"version": "0.1.0",
	"name": "Dynamic Code Loading",
	"description": "Writing to executable allocated memory region (Rego twin of TRC-4)",
	"tags": ["linux", "container"],
	"properties": {
		"Severity": 2,
		"MITRE ATT&CK": "Defense Evasion: Obfuscated Files or Information",
	},
}

tracee_selected_events[eventSelector] {
	eventSelector := {"source": "tracee", "name": "mem_prot_alert"}
}

tracee_match {
	input.eventName == "mem_prot_alert"
	helpers.get_tracee_argument("alert") == "Protection changed from W+E to E!"
}
