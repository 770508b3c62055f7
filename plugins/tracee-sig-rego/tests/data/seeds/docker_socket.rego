package tracee.RMM_1

import data.tracee.helpers

__rego_metadoc__ := {
     "id": "RMM-1",
     "version": "0.0.1",
     "name": "Docker Socket Access Detected",
     "description": "A container accessed the Docker socket, allowing for control of the container daemon and possible privilege escalation",
     "tags": ["container"],
     "properties": {
          "Severity": 0,
          "MITRE ATT&CK": "Container Administration Command"
     }
}

eventSelectors := [
     {
          "source": "tracee",
          "name": "security_socket_connect",
          "origin": "container"
     }
]

tracee_selected_events[eventSelector] {
     eventSelector := eventSelectors[_]
}

tracee_match {
     input.eventName == "security_socket_connect"
     addr := helpers.get_tracee_argument("remote_addr")
     contains(addr,"docker.sock")
}
