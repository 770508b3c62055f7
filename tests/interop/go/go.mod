// The module path is Tracee's types module, so that gob.Register names the mirrored types exactly
// as tracee-ebpf and tracee-rules v0.8.3 register them. Standard library only.
module github.com/aquasecurity/tracee/types

go 1.19
