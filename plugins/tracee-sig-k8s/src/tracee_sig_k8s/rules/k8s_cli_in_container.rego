# K8S-2: a Kubernetes or container-runtime client (kubectl, crictl, ctr, nerdctl) runs in a container.
# Tracee rule format (package tracee.<ID>, __rego_metadoc__, tracee_selected_events, tracee_match):
# the file runs unchanged in tracee-rules.
package tracee.K8S_2

import data.tracee.helpers

__rego_metadoc__ := {
	"id": "K8S-2",
	"version": "0.1.0",
	"name": "Kubernetes or container runtime client executed in a container",
	"description": "A container executed kubectl, crictl, ctr or nerdctl. Application images rarely ship these clients; an adversary who gained a shell in a pod brings them to talk to the API server with the pod's service account, or to a mounted container runtime socket, to list secrets, start privileged pods or exec into other containers.",
	"tags": ["linux", "container", "kubernetes"],
	"properties": {
		"Severity": 2,
		"MITRE ATT&CK": "Execution: Container Administration Command",
		"external_id": "T1609",
	},
}

eventSelectors := [{
	"source": "tracee",
	"name": "sched_process_exec",
	"origin": "container",
}]

tracee_selected_events[eventSelector] {
	eventSelector := eventSelectors[_]
}

clients := {"kubectl", "crictl", "ctr", "nerdctl"}

basename(path) = name {
	parts := split(path, "/")
	name := parts[count(parts) - 1]
}

# The file executed, then the path given to execve (a symlink to a renamed or multi-call binary),
# then argv[0]. One body with `else` so that two matching names cannot conflict.
client(pathname, cmdpath, argv) = name {
	name := basename(pathname)
	clients[name]
} else = name {
	name := basename(cmdpath)
	clients[name]
} else = name {
	name := basename(argv[0])
	clients[name]
}

# A missing argument reads as "" or [], so the other two still decide.
string_arg(arg_name) = value {
	value := helpers.get_tracee_argument(arg_name)
	is_string(value)
} else = ""

argv_arg = value {
	value := helpers.get_tracee_argument("argv")
	is_array(value)
	count(value) > 0
	is_string(value[0])
} else = [""]

tracee_match = {"binary": name, "pathname": pathname} {
	input.eventName == "sched_process_exec"
	pathname := string_arg("pathname")
	name := client(pathname, string_arg("cmdpath"), argv_arg)
}
