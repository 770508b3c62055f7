package trace

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// UnmarshalJSON gives an argument read from Tracee JSON the Go value tracee-ebpf itself would have
// put in the event for its declared type (the gob shape): int32 for "int", uintptr for pointers,
// map[string]string for sockaddr, []byte for "bytes", SlimCred for "slim_cred_t", and so on.
// A number that does not fit its declared type keeps its value as int64 (negative) or uint64.
func (arg *Argument) UnmarshalJSON(b []byte) error {
	var raw struct {
		Name  string          `json:"name"`
		Type  string          `json:"type"`
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	arg.Name, arg.Type = raw.Name, raw.Type
	value, err := gobShape(raw.Type, raw.Value)
	if err != nil {
		return fmt.Errorf("argument %q: %v", raw.Name, err)
	}
	arg.Value = value
	return nil
}

var signedBits = map[string]int{"int": 32, "pid_t": 32, "uid_t": 32, "gid_t": 32, "mqd_t": 32,
	"clockid_t": 32, "const clockid_t": 32, "key_t": 32, "key_serial_t": 32, "timer_t": 32,
	"landlock_rule_type": 32, "long": 64}
var unsignedBits = map[string]int{"unsigned int": 32, "u32": 32, "mode_t": 32, "dev_t": 32,
	"unsigned long": 64, "u64": 64, "off_t": 64, "size_t": 64, "unsigned short": 16, "old_uid_t": 16,
	"old_gid_t": 16, "umode_t": 16, "u16": 16, "uint16": 16, "u8": 8, "uint8": 8}

func decode(raw json.RawMessage, into interface{}) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	return d.Decode(into)
}

func gobShape(typ string, raw json.RawMessage) (interface{}, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		if typ == "bytes" {
			if b, err := base64.StdEncoding.DecodeString(s); err == nil {
				return b, nil
			}
		}
		return s, nil
	case 't', 'f':
		var v bool
		err := json.Unmarshal(raw, &v)
		return v, err
	case '[':
		switch typ {
		case "[]trace.HookedSymbolData":
			var v []HookedSymbolData
			err := decode(raw, &v)
			return v, err
		case "[]trace.DnsQueryData":
			var v []DnsQueryData
			err := decode(raw, &v)
			return v, err
		case "[]trace.DnsResponseData":
			var v []DnsResponseData
			err := decode(raw, &v)
			return v, err
		case "unsigned long[]":
			var v []uint64
			err := json.Unmarshal(raw, &v)
			return v, err
		case "int[2]":
			var v []int32
			err := json.Unmarshal(raw, &v)
			return v, err
		}
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, err
		}
		if len(items) == 0 || items[0][0] == '"' {
			var v []string
			err := json.Unmarshal(raw, &v)
			return v, err
		}
		var signed []int64
		if err := json.Unmarshal(raw, &signed); err == nil {
			return signed, nil
		}
		var unsigned []uint64
		err := json.Unmarshal(raw, &unsigned)
		return unsigned, err
	case '{':
		switch typ {
		case "slim_cred_t":
			var v SlimCred
			err := decode(raw, &v)
			return v, err
		case "trace.PktMeta":
			var v PktMeta
			err := decode(raw, &v)
			return v, err
		case "map[string]trace.HookedSymbolData":
			var v map[string]HookedSymbolData
			err := decode(raw, &v)
			return v, err
		}
		var v map[string]string
		err := json.Unmarshal(raw, &v)
		return v, err
	}
	return number(typ, string(raw))
}

func number(typ, text string) (interface{}, error) {
	if strings.ContainsAny(text, ".eE") {
		f, err := strconv.ParseFloat(text, 64)
		if typ == "float" {
			return float32(f), err
		}
		return f, err
	}
	if bits, ok := signedBits[typ]; ok {
		if v, err := strconv.ParseInt(text, 10, bits); err == nil {
			if bits == 32 {
				return int32(v), nil
			}
			return v, nil
		}
	}
	if bits, ok := unsignedBits[typ]; ok {
		if v, err := strconv.ParseUint(text, 10, bits); err == nil {
			switch bits {
			case 8:
				return uint8(v), nil
			case 16:
				return uint16(v), nil
			case 32:
				return uint32(v), nil
			}
			return v, nil
		}
	}
	if strings.HasSuffix(typ, "*") || typ == "void *" {
		if v, err := strconv.ParseUint(text, 10, 64); err == nil {
			return uintptr(v), nil
		}
	}
	if v, err := strconv.ParseInt(text, 10, 64); err == nil {
		return v, nil
	}
	v, err := strconv.ParseUint(text, 10, 64)
	if err != nil {
		return nil, err
	}
	if v > math.MaxUint64 {
		return nil, fmt.Errorf("%s is out of range", text)
	}
	return v, nil
}
