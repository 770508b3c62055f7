# K8S-3: a container reads kubelet or kubeconfig credentials (the node's keys, the cluster-admin
# kubeconfig, a user's ~/.kube/config). TRC-10 covers /etc/kubernetes/pki/; this covers the rest.
package tracee.K8S_3

import data.tracee.helpers

__rego_metadoc__ := {
	"id": "K8S-3",
	"version": "0.1.0",
	"name": "Kubelet or kubeconfig credentials read from a container",
	"description": "A container opened a kubelet client certificate or key (/var/lib/kubelet/pki/), the kubelet's kubeconfig, a control-plane kubeconfig (/etc/kubernetes/*.conf, k3s.yaml) or a user's ~/.kube/config for reading. Workloads do not need these files; an adversary with a host mount reads them to act on the API server as the node or as a cluster administrator.",
	"tags": ["linux", "container", "kubernetes"],
	"properties": {
		"Severity": 3,
		"MITRE ATT&CK": "Credential Access: Credentials In Files",
		"external_id": "T1552.001",
	},
}

# "filters" (a tracee extension, ignored by Tracee): necessary conditions of a match, so the
# sensor can drop other opens early; the rule below stays the judge.
eventSelectors := [
	{
		"source": "tracee",
		"name": "security_file_open",
		"origin": "container",
		"filters": ["pathname=/var/lib/kubelet/*,/etc/kubernetes/*,/etc/rancher/k3s/*"],
	},
	{
		"source": "tracee",
		"name": "security_file_open",
		"origin": "container",
		"filters": ["pathname=*/.kube/config"],
	},
]

tracee_selected_events[eventSelector] {
	eventSelector := eventSelectors[_]
}

credential_file(path) {
	startswith(path, "/var/lib/kubelet/pki/")
}

credential_file(path) {
	path == "/var/lib/kubelet/kubeconfig"
}

# admin.conf, super-admin.conf, kubelet.conf, controller-manager.conf, scheduler.conf,
# bootstrap-kubelet.conf: directly under /etc/kubernetes (not pki/, not manifests/).
credential_file(path) {
	regex.match(`^/etc/kubernetes/[^/]+\.conf$`, path)
}

credential_file(path) {
	endswith(path, "/.kube/config")
}

credential_file(path) {
	path == "/etc/rancher/k3s/k3s.yaml"
}

# Flags as parse-arguments prints them ("O_RDONLY|O_LARGEFILE"), or the raw number
# (access mode O_RDONLY = 0, O_RDWR = 2).
opened_for_read(flags) {
	is_string(flags)
	helpers.is_file_read(flags)
}

opened_for_read(flags) {
	is_number(flags)
	bits.and(flags, 3) == 0
}

opened_for_read(flags) {
	is_number(flags)
	bits.and(flags, 3) == 2
}

tracee_match = {"file path": path, "file flags": flags} {
	input.eventName == "security_file_open"
	path := helpers.get_tracee_argument("pathname")
	is_string(path)
	credential_file(path)
	flags := helpers.get_tracee_argument("flags")
	opened_for_read(flags)
}
