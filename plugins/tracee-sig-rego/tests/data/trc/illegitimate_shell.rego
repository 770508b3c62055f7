package tracee.RGO_12

import data.tracee.helpers

__rego_metadoc__ := {
	"id": "RGO-12",
	"version": "0.1.0",
	"name": "Illegitimate Shell",
	"description": "A program on your server spawned a shell program (Rego twin of TRC-12)",
	"tags": ["linux", "container"],
	"properties": {
		"Severity": 2,
		"MITRE ATT&CK": "Initial Access: Exploit Public-Facing Application",
	},
}

tracee_selected_events[eventSelector] {
	eventSelector := {"source": "tracee", "name": "security_bprm_check", "origin": "*"}
}

shells := ["/ash", "/bash", "/csh", "/ksh", "/sh", "/tcsh", "/zsh", "/dash"]

web_servers := {"nginx", "httpd", "httpd-foregroun", "lighttpd", "apache", "apache2"}

tracee_match {
	input.eventName == "security_bprm_check"
	shell := shells[_]
	endswith(helpers.get_tracee_argument("pathname"), shell)
	web_servers[input.processName]
}
