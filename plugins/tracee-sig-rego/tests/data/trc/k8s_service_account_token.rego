package tracee.RGO_8

import data.tracee.helpers

__rego_metadoc__ := {
	"id": "RGO-8",
	"version": "0.1.0",
	"name": "K8S Service Account Token Use Detected",
	"description": "The Kubernetes service account token file was read on your container (Rego twin of TRC-8)",
	"tags": ["container"],
	"properties": {
		"Severity": 0,
		"MITRE ATT&CK": "Credential Access: Credentials from Password Stores",
	},
}

tracee_selected_events[eventSelector] {
	eventSelector := {"source": "tracee", "name": "security_file_open", "origin": "container"}
}

allowed_processes := {"flanneld", "kube-proxy", "etcd", "kube-apiserver", "coredns", "kube-controller", "kubectl"}

tracee_match {
	input.eventName == "security_file_open"
	helpers.is_file_read(helpers.get_tracee_argument("flags"))
	pathname := helpers.get_tracee_argument("pathname")
	contains(pathname, "secrets/kubernetes.io/serviceaccount")
	endswith(pathname, "token")
	not allowed_processes[input.processName]
}
