package tracee.RGO_13

import data.tracee.helpers

__rego_metadoc__ := {
	"id": "RGO-13",
	"version": "0.1.0",
	"name": "Kubernetes API server connection detected",
	"description": "A container connected to the Kubernetes API server port (stateless Rego stand-in for TRC-13)",
	"tags": ["container"],
	"properties": {
		"Severity": 1,
		"MITRE ATT&CK": "Discovery: Cloud Service Discovery",
	},
}

tracee_selected_events[eventSelector] {
	eventSelector := {"source": "tracee", "name": "security_socket_connect", "origin": "container"}
}

api_ports := {"443", "6443"}

tracee_match = {"ip": addr.sin_addr, "port": addr.sin_port} {
	input.eventName == "security_socket_connect"
	addr := helpers.get_tracee_argument("remote_addr")
	addr.sa_family == "AF_INET"
	api_ports[addr.sin_port]
	startswith(addr.sin_addr, "10.96.")
}
