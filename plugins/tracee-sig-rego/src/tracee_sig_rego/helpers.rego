# Tracee's Rego helper library (package tracee.helpers), compiled into every Rego signature.
# Same behaviour as the helpers.rego that tracee-rules embedded (v0.6.2 - v0.9.x); written anew.
package tracee.helpers

# The value of the event argument called arg_name; undefined when the event has no such argument.
# Besides Tracee's `args` list, the plugin passes the arguments as an object of name -> value
# (tracee_sig_rego_args), which rego-cpp reads about 3x faster than it scans the list. A name that
# occurs twice in an event is left out of it and listed in tracee_sig_rego_dups, and is searched
# in the list, as Tracee's helper did (two different values then make an evaluation error).
get_tracee_argument(arg_name) = res {
	res := input.tracee_sig_rego_args[arg_name]
} else = res {
	input.tracee_sig_rego_dups[arg_name]
	arg := input.args[_]
	arg.name == arg_name
	res := arg.value
}

# Open flags as parse-arguments prints them ("O_WRONLY|O_CREAT"): opened for writing?
default is_file_write(flags) = false

is_file_write(flags) {
	contains(lower(flags), "o_wronly")
}

is_file_write(flags) {
	contains(lower(flags), "o_rdwr")
}

# ... opened for reading?
default is_file_read(flags) = false

is_file_read(flags) {
	contains(lower(flags), "o_rdonly")
}

is_file_read(flags) {
	contains(lower(flags), "o_rdwr")
}

# base64 text (magic_write's bytes) starting with an ELF header: bytes 1..3 spell "ELF", any case.
default is_elf_file(string) = false

is_elf_file(string) {
	decoded := base64.decode(string)
	lower(substring(decoded, 1, 3)) == "elf"
}
