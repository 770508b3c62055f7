// gointerop proves the Python gob codec and Go-template engine against Go's own packages:
//
//	gointerop decode   < events.gob    one JSON line per event: {"event": ..., "types": [%T of each arg value]}
//	gointerop encode   < events.jsonl  the events (Tracee JSON lines) as one gob stream, as tracee-ebpf writes it
//	gointerop template FILE event|finding < data.json   FILE run by text/template over the data
//
// Any error ends the program with exit status 1 and the error on stderr.
package main

import (
	"bufio"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/aquasecurity/tracee/types/trace"
)

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: gointerop decode|encode|template FILE KIND"))
	}
	trace.Register()
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer out.Flush()
	switch os.Args[1] {
	case "decode":
		decodeStream(os.Stdin, out)
	case "encode":
		encodeLines(os.Stdin, out)
	case "template":
		if len(os.Args) != 4 {
			fail(fmt.Errorf("usage: gointerop template FILE event|finding"))
		}
		runTemplate(os.Args[2], os.Args[3], os.Stdin, out)
	default:
		fail(fmt.Errorf("unknown mode %q", os.Args[1]))
	}
}

func decodeStream(in io.Reader, out *bufio.Writer) {
	dec := gob.NewDecoder(bufio.NewReaderSize(in, 1<<20))
	for n := 0; ; n++ {
		var event trace.Event
		if err := dec.Decode(&event); err != nil {
			if err == io.EOF {
				return
			}
			fail(fmt.Errorf("event %d: %v", n, err))
		}
		types := make([]string, len(event.Args))
		for i, arg := range event.Args {
			types[i] = fmt.Sprintf("%T", arg.Value)
		}
		line, err := json.Marshal(struct {
			Event trace.Event `json:"event"`
			Types []string    `json:"types"`
		}{event, types})
		if err != nil {
			fail(fmt.Errorf("event %d: %v", n, err))
		}
		out.Write(line)
		out.WriteByte('\n')
	}
}

func encodeLines(in io.Reader, out *bufio.Writer) {
	enc := gob.NewEncoder(out)
	scanner := bufio.NewScanner(in)
	scanner.Buffer(make([]byte, 1<<20), 64<<20)
	for n := 1; scanner.Scan(); n++ {
		var event trace.Event
		if err := json.Unmarshal(scanner.Bytes(), &event); err != nil {
			fail(fmt.Errorf("line %d: %v", n, err))
		}
		if err := enc.Encode(event); err != nil {
			fail(fmt.Errorf("line %d: %v", n, err))
		}
	}
	if err := scanner.Err(); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gointerop:", err)
	os.Exit(1)
}
