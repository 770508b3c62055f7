package tracee.RGO_9

import data.tracee.helpers

__rego_metadoc__ := {
	"id": "RGO-9",
	"version": "0.1.0",
	"name": "New Executable Was Dropped During Runtime",
	"description": "An Executable file was dropped in your system during runtime (Rego twin of TRC-9)",
	"tags": ["linux", "container"],
	"properties": {
		"Severity": 2,
		"MITRE ATT&CK": "Defense Evasion: Masquerading",
	},
}

tracee_selected_events[eventSelector] {
	eventSelector := {"source": "tracee", "name": "magic_write", "origin": "container"}
}

tracee_match = res {
	input.eventName == "magic_write"
	helpers.is_elf_file(helpers.get_tracee_argument("bytes"))
	res := {"file path": helpers.get_tracee_argument("pathname")}
}
