// Package trace mirrors the types of Tracee v0.8.3's types/trace that cross a gob stream: the event,
// its arguments and the argument value types tracee-ebpf sends. Written for the interop test from
// the v0.8.3 field lists; the import path matches Tracee's so gob names the types as Tracee does.
package trace

import "encoding/gob"

// Event is trace.Event of v0.8.3: the fields, their Go types and their JSON names.
type Event struct {
	Timestamp           int          `json:"timestamp"`
	ThreadStartTime     int          `json:"threadStartTime"`
	ProcessorID         int          `json:"processorId"`
	ProcessID           int          `json:"processId"`
	CgroupID            uint         `json:"cgroupId"`
	ThreadID            int          `json:"threadId"`
	ParentProcessID     int          `json:"parentProcessId"`
	HostProcessID       int          `json:"hostProcessId"`
	HostThreadID        int          `json:"hostThreadId"`
	HostParentProcessID int          `json:"hostParentProcessId"`
	UserID              int          `json:"userId"`
	MountNS             int          `json:"mountNamespace"`
	PIDNS               int          `json:"pidNamespace"`
	ProcessName         string       `json:"processName"`
	HostName            string       `json:"hostName"`
	ContainerID         string       `json:"containerId"`
	ContainerImage      string       `json:"containerImage"`
	ContainerName       string       `json:"containerName"`
	PodName             string       `json:"podName"`
	PodNamespace        string       `json:"podNamespace"`
	PodUID              string       `json:"podUID"`
	EventID             int          `json:"eventId,string"`
	EventName           string       `json:"eventName"`
	ArgsNum             int          `json:"argsNum"`
	ReturnValue         int          `json:"returnValue"`
	StackAddresses      []uint64     `json:"stackAddresses"`
	ContextFlags        ContextFlags `json:"contextFlags"`
	Args                []Argument   `json:"args"`
}

type ContextFlags struct {
	ContainerStarted bool `json:"containerStarted"`
}

type ArgMeta struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Argument embeds ArgMeta, as Tracee's does (gob sends it as a field named ArgMeta).
type Argument struct {
	ArgMeta
	Value interface{} `json:"value"`
}

type SlimCred struct {
	Uid            uint32
	Gid            uint32
	Suid           uint32
	Sgid           uint32
	Euid           uint32
	Egid           uint32
	Fsuid          uint32
	Fsgid          uint32
	UserNamespace  uint32
	SecureBits     uint32
	CapInheritable uint64
	CapPermitted   uint64
	CapEffective   uint64
	CapBounding    uint64
	CapAmbient     uint64
}

type HookedSymbolData struct {
	SymbolName  string
	ModuleOwner string
}

type PktMeta struct {
	SrcIP     string `json:"src_ip"`
	DstIP     string `json:"dst_ip"`
	SrcPort   uint16 `json:"src_port"`
	DstPort   uint16 `json:"dst_port"`
	Protocol  uint8  `json:"protocol"`
	PacketLen uint32 `json:"packet_len"`
}

type DnsQueryData struct {
	Query      string `json:"query"`
	QueryType  string `json:"query_type"`
	QueryClass string `json:"query_class"`
}

type DnsAnswer struct {
	Type   string `json:"answer_type"`
	Ttl    uint32 `json:"ttl"`
	Answer string `json:"answer"`
}

type DnsResponseData struct {
	QueryData DnsQueryData `json:"query_data"`
	DnsAnswer []DnsAnswer  `json:"dns_answer"`
}

// Register registers what tracee-rules v0.8.3 registers before it decodes a gob stream.
func Register() {
	gob.Register(Event{})
	gob.Register(SlimCred{})
	gob.Register(make(map[string]string))
	gob.Register(PktMeta{})
	gob.Register([]HookedSymbolData{})
	gob.Register(map[string]HookedSymbolData{})
	gob.Register([]DnsQueryData{})
	gob.Register([]DnsResponseData{})
}

// Origin is trace.Event's method (v0.8.1+): where the event happened.
func (e Event) Origin() string {
	if e.ContextFlags.ContainerStarted {
		return "container"
	}
	if e.ContainerID != "" {
		return "container-init"
	}
	return "host"
}
