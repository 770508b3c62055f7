# K8S-6: a container opens a kernel parameter under /proc/sys or /sys/kernel for writing
# (core_pattern, modprobe, uevent_helper...: classic ways out of a privileged container).
package tracee.K8S_6

import data.tracee.helpers

__rego_metadoc__ := {
	"id": "K8S-6",
	"version": "0.1.0",
	"name": "Kernel parameter written from a container",
	"description": "A container opened a file under /proc/sys or /sys/kernel for writing. Container runtimes mount these read-only, so the write is possible only in a privileged container, and it changes the whole node: pointing kernel.core_pattern, kernel.modprobe or uevent_helper at a file in the container makes the host kernel run it as root outside the container.",
	"tags": ["linux", "container", "kubernetes"],
	"properties": {
		"Severity": 3,
		"MITRE ATT&CK": "Privilege Escalation: Escape to Host",
		"external_id": "T1611",
	},
}

# "filters" (a tracee extension, ignored by Tracee): a necessary condition of a match, so the
# sensor can drop other opens early; the rule below stays the judge.
eventSelectors := [{
	"source": "tracee",
	"name": "security_file_open",
	"origin": "container",
	"filters": ["pathname=/proc/sys/*,/sys/kernel/*"],
}]

tracee_selected_events[eventSelector] {
	eventSelector := eventSelectors[_]
}

kernel_parameter(path) {
	startswith(path, "/proc/sys/")
}

kernel_parameter(path) {
	startswith(path, "/sys/kernel/")
}

# Flags as parse-arguments prints them ("O_WRONLY|O_TRUNC"), or the raw number
# (access mode O_WRONLY = 1, O_RDWR = 2).
opened_for_write(flags) {
	is_string(flags)
	helpers.is_file_write(flags)
}

opened_for_write(flags) {
	is_number(flags)
	bits.and(flags, 3) == 1
}

opened_for_write(flags) {
	is_number(flags)
	bits.and(flags, 3) == 2
}

tracee_match = {"file path": path, "file flags": flags} {
	input.eventName == "security_file_open"
	path := helpers.get_tracee_argument("pathname")
	is_string(path)
	kernel_parameter(path)
	flags := helpers.get_tracee_argument("flags")
	opened_for_write(flags)
}
