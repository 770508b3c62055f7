package tracee.RGO_10

import data.tracee.helpers

__rego_metadoc__ := {
	"id": "RGO-10",
	"version": "0.1.0",
	"name": "K8S TLS Certificate Theft Detected",
	"description": "Kubernetes TLS certificate theft was detected (Rego twin of TRC-10)",
	"tags": ["linux", "container"],
	"properties": {
		"Severity": 3,
		"MITRE ATT&CK": "Credential Access: Steal Application Access Token",
	},
}

tracee_selected_events[eventSelector] {
	eventSelector := {"source": "tracee", "name": "security_file_open", "origin": "*"}
}

allowed_processes := {"kube-apiserver", "kubelet", "kube-controller", "etcd"}

tracee_match {
	input.eventName == "security_file_open"
	helpers.is_file_read(helpers.get_tracee_argument("flags"))
	startswith(helpers.get_tracee_argument("pathname"), "/etc/kubernetes/pki/")
	not allowed_processes[input.processName]
}
