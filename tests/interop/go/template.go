package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/template"
	"time"

	"github.com/aquasecurity/tracee/types/trace"
)

// The finding tracee-rules v0.8.3 hands its templates (types/detect and types/protocol).
type Selector struct {
	Name   string
	Origin string
	Source string
}

type EventHeaders struct {
	Selector Selector
}

type ProtocolEvent struct {
	Headers EventHeaders
	Payload interface{}
}

type SignatureMetadata struct {
	ID          string
	Version     string
	Name        string
	Description string
	Tags        []string
	Properties  map[string]interface{}
}

type Finding struct {
	Data        map[string]interface{}
	Event       ProtocolEvent
	SigMetadata SignatureMetadata
}

// sprig is the part of Sprig (the function library tracee-rules gives templates) the tests use,
// written from Sprig's documented behaviour; `now` is fixed by TEMPLATE_NOW for reproducible output.
func sprig() template.FuncMap {
	now, err := time.Parse(time.RFC3339Nano, os.Getenv("TEMPLATE_NOW"))
	if err != nil {
		now = time.Now()
	}
	strval := func(v interface{}) string {
		switch s := v.(type) {
		case string:
			return s
		case []byte:
			return string(s)
		case fmt.Stringer:
			return s.String()
		}
		return fmt.Sprintf("%v", v)
	}
	toDate := func(d interface{}) time.Time {
		switch v := d.(type) {
		case time.Time:
			return v
		case int:
			return time.Unix(int64(v), 0)
		case int64:
			return time.Unix(v, 0)
		}
		return time.Now()
	}
	inZone := func(layout string, d interface{}, zone string) string {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			loc, _ = time.LoadLocation("UTC")
		}
		return toDate(d).In(loc).Format(layout)
	}
	empty := func(v interface{}) bool {
		switch x := v.(type) {
		case nil:
			return true
		case string:
			return x == ""
		case bool:
			return !x
		case int:
			return x == 0
		case int32:
			return x == 0
		case int64:
			return x == 0
		case float64:
			return x == 0
		case []interface{}:
			return len(x) == 0
		case map[string]interface{}:
			return len(x) == 0
		}
		return false
	}
	return template.FuncMap{
		"toJson":       func(v interface{}) string { b, _ := json.Marshal(v); return string(b) },
		"toPrettyJson": func(v interface{}) string { b, _ := json.MarshalIndent(v, "", "  "); return string(b) },
		"toRawJson": func(v interface{}) string {
			var sb strings.Builder
			enc := json.NewEncoder(&sb)
			enc.SetEscapeHTML(false)
			enc.Encode(v)
			return strings.TrimSuffix(sb.String(), "\n")
		},
		"now":        func() time.Time { return now },
		"date":       func(layout string, d interface{}) string { return inZone(layout, d, "Local") },
		"dateInZone": inZone,
		"upper":      strings.ToUpper,
		"lower":      strings.ToLower,
		"trim":       strings.TrimSpace,
		"trimPrefix": func(a, b string) string { return strings.TrimPrefix(b, a) },
		"trimSuffix": func(a, b string) string { return strings.TrimSuffix(b, a) },
		"replace":    func(o, n, s string) string { return strings.Replace(s, o, n, -1) },
		"contains":   func(sub, s string) bool { return strings.Contains(s, sub) },
		"hasPrefix":  func(sub, s string) bool { return strings.HasPrefix(s, sub) },
		"hasSuffix":  func(sub, s string) bool { return strings.HasSuffix(s, sub) },
		"join": func(sep string, v interface{}) string {
			var parts []string
			switch x := v.(type) {
			case []string:
				parts = x
			case []interface{}:
				for _, s := range x {
					if s != nil {
						parts = append(parts, strval(s))
					}
				}
			default:
				parts = []string{strval(v)}
			}
			return strings.Join(parts, sep)
		},
		"quote": func(args ...interface{}) string {
			var out []string
			for _, s := range args {
				if s != nil {
					out = append(out, fmt.Sprintf("%q", strval(s)))
				}
			}
			return strings.Join(out, " ")
		},
		"squote": func(args ...interface{}) string {
			var out []string
			for _, s := range args {
				if s != nil {
					out = append(out, fmt.Sprintf("'%s'", strval(s)))
				}
			}
			return strings.Join(out, " ")
		},
		"default": func(d interface{}, given ...interface{}) interface{} {
			if len(given) == 0 || empty(given[0]) {
				return d
			}
			return given[0]
		},
		"toString": strval,
	}
}

// runTemplate executes FILE over one event (a Tracee JSON line) or one finding read from stdin.
func runTemplate(path, kind string, in io.Reader, out io.Writer) {
	source, err := os.ReadFile(path)
	if err != nil {
		fail(err)
	}
	tmpl, err := template.New(path).Funcs(sprig()).Parse(string(source))
	if err != nil {
		fail(err)
	}
	raw, err := io.ReadAll(in)
	if err != nil {
		fail(err)
	}
	var data interface{}
	switch kind {
	case "event":
		var event trace.Event
		if err := json.Unmarshal(raw, &event); err != nil {
			fail(err)
		}
		data = event
	case "finding":
		var wire struct {
			Data  map[string]interface{}
			Event struct {
				Headers EventHeaders
				Payload trace.Event
			}
			SigMetadata SignatureMetadata
		}
		if err := json.Unmarshal(raw, &wire); err != nil {
			fail(err)
		}
		data = Finding{wire.Data, ProtocolEvent{wire.Event.Headers, wire.Event.Payload}, wire.SigMetadata}
	default:
		fail(fmt.Errorf("unknown data kind %q", kind))
	}
	if err := tmpl.Execute(out, data); err != nil {
		fail(err)
	}
}
