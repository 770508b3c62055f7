"""The event model reads Tracee's JSON as tracee-ebpf writes it and writes it back the same."""

import base64
import json

import pytest

from tracee import Event, EventDecodeError

# From Tracee's docs (v0.8), with the v0.8.1 contextFlags.
SAMPLE = ('{"timestamp":1657292314817581101,"threadStartTime":617395606682013,"processorId":9,'
          '"processId":2045288,"cgroupId":1,"threadId":2045288,"parentProcessId":3795408,'
          '"hostProcessId":2045288,"hostThreadId":2045288,"hostParentProcessId":3795408,"userId":1000,'
          '"mountNamespace":4026531840,"pidNamespace":4026531836,"processName":"bash","hostName":"fujitsu",'
          '"containerId":"","containerImage":"","containerName":"","podName":"","podNamespace":"",'
          '"podUID":"","eventId":"722","eventName":"security_file_open","argsNum":7,"returnValue":0,'
          '"stackAddresses":null,"contextFlags":{"containerStarted":false},"args":['
          '{"name":"pathname","type":"const char*","value":"/usr/bin/exa"},'
          '{"name":"flags","type":"string","value":"O_RDONLY|O_LARGEFILE"},'
          '{"name":"dev","type":"dev_t","value":271581185},'
          '{"name":"inode","type":"unsigned long","value":2493759},'
          '{"name":"ctime","type":"unsigned long","value":1653730234432691496},'
          '{"name":"syscall_pathname","type":"const char*","value":""},'
          '{"name":"syscall","type":"int","value":"execve"}]}')


def test_reads_tracee_json():
    e = Event.from_json(SAMPLE)
    assert e.event_name == "security_file_open"
    assert e.event_id == 722
    assert e.process_id == 2045288 and e.host_parent_process_id == 3795408
    assert e.process_name == "bash" and e.host_name == "fujitsu"
    assert e.get_arg("flags") == "O_RDONLY|O_LARGEFILE"
    assert e.get_arg("syscall") == "execve"  # a parsed value whatever its declared type
    assert e.get_arg("missing", "dflt") == "dflt"
    assert e.origin == "host"


def test_round_trip_is_exact():
    assert json.loads(Event.from_json(SAMPLE).to_json()) == json.loads(SAMPLE)


def test_event_id_written_as_string():
    assert Event.from_json(SAMPLE).to_dict()["eventId"] == "722"
    assert Event("ptrace", event_id=101).to_dict()["eventId"] == "101"


def test_keys_in_any_case():
    e = Event.from_dict({"eventname": "ptrace", "PROCESSID": 7, "parentprocessid": 3,
                         "ContextFlags": {"containerstarted": True}, "containerid": "abc",
                         "args": [{"Name": "request", "Type": "long", "Value": 0}]})
    assert (e.event_name, e.process_id, e.parent_process_id) == ("ptrace", 7, 3)
    assert e.container_started and e.origin == "container"
    assert e.get_arg("request") == 0


@pytest.mark.parametrize("started,cid,origin", [
    (True, "abc", "container"), (False, "abc", "container-init"), (False, "", "host"), (True, "", "container")])
def test_origin_as_tracee_081(started, cid, origin):
    assert Event("x", container_id=cid, container_started=started).origin == origin


@pytest.mark.parametrize("typ,value,expected", [
    ("int", -5, -5),
    ("int", 2**31 - 1, 2**31 - 1),
    ("long", -(2**63), -(2**63)),
    ("unsigned long", 2**64 - 1, 2**64 - 1),
    ("u8", 255, 255),
    ("umode_t", 33261, 33261),
    ("void*", 140737488355328, 140737488355328),
    ("const char*const*", 5, 5),      # any pointer type is a u64
    ("float", 1, 1.0),
    ("int", 3.0, 3),
])
def test_numbers_converted_by_type(typ, value, expected):
    e = Event.from_dict({"eventName": "x", "args": [{"name": "a", "type": typ, "value": value}]})
    got = e.get_arg("a")
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("typ,value", [
    ("int", 2**31), ("int", -(2**31) - 1), ("unsigned int", -1), ("unsigned int", 2**32),
    ("long", 2**63), ("long", 2**64), ("unsigned long", 2**64), ("unsigned long", -1), ("u8", 256),
    ("umode_t", 65536), ("void*", -1),
])
def test_numbers_out_of_their_type_are_errors_not_wrapped(typ, value):
    """Go parses with the type's width (strconv.ParseInt(s, 10, 32), ...) and drops the event on a
    range error. Wrapping would turn a `long` of 2^64 into 0, a PTRACE_TRACEME (a false TRC-2)."""
    with pytest.raises(EventDecodeError, match=f"argument 'a': {value} is out of range for {typ}"):
        Event.from_dict({"eventName": "x", "args": [{"name": "a", "type": typ, "value": value}]})


def test_integers_beyond_64_bits_in_json_are_errors():
    """orjson reads integers beyond u64 as floats; they must not come back as a wrapped integer."""
    line = '{"eventName":"ptrace","args":[{"name":"request","type":"long","value":18446744073709551616}]}'
    with pytest.raises(EventDecodeError, match="out of range for long"):
        Event.from_json(line)


@pytest.mark.parametrize("arg,message", [
    ({"name": "a", "type": None, "value": 0}, "argument 'a': 'type' must be a string, got None"),
    ({"name": "a", "type": 5, "value": 0}, "argument 'a': 'type' must be a string, got 5"),
    ({"name": "a", "type": ["long"], "value": 0}, "argument 'a': 'type' must be a string, got \\['long'\\]"),
    ({"name": ["a"], "type": "long", "value": 0}, "'name' must be a string"),
    ({"name": {"x": 1}, "value": 0}, "'name' must be a string"),
    ("text", "each argument must be an object"),
])
def test_argument_name_and_type_are_strings(arg, message):
    with pytest.raises(EventDecodeError, match=message):
        Event.from_dict({"eventName": "x", "args": [arg]})


def test_argument_without_type_or_value_is_read_as_go_does():
    e = Event.from_dict({"eventName": "x", "args": [{"name": "a"}]})
    assert e.args == [{"name": "a", "type": "", "value": None}]


def test_huge_values_are_cut_in_messages():
    big = "A" * 5_000_000
    for data in ({"eventName": [big]}, {"eventName": "x", "containerId": [big]},
                 {"eventName": "x", "args": [{"name": big, "type": 5, "value": 1}]},
                 {"eventName": "x", "args": [{"name": "a", "type": big, "value": 1}]},
                 {"eventName": "x", "eventId": big}):
        with pytest.raises(EventDecodeError) as info:
            Event.from_dict(data)
        assert len(str(info.value)) < 300, str(info.value)[:400]


@pytest.mark.parametrize("flags", [{"containerStarted": "false"}, {"containerStarted": 1}, {"containerstarted": []}])
def test_container_started_must_be_a_boolean(flags):
    """Go's bool field: "false" (a string) is an error, not a true value."""
    with pytest.raises(EventDecodeError, match="containerStarted"):
        Event.from_dict({"eventName": "x", "contextFlags": flags})


@pytest.mark.parametrize("event_id", ["1" * 30, "1e3", " 5", "-", 2**63, "9223372036854775808"])
def test_event_id_is_a_decimal_int64(event_id):
    with pytest.raises(EventDecodeError, match="field 'eventId'"):
        Event.from_dict({"eventName": "x", "eventId": event_id})


def test_context_fields_of_the_wrong_type_read_as_defaults_reported_once(tracee_logs):
    e = Event.from_dict({"eventName": "x", "processId": "12", "hostName": 5, "cgroupId": 2**64,
                         "timestamp": 2**63, "stackAddresses": ["x"], "userId": True})
    e2 = Event.from_dict({"eventName": "x", "processId": [1]})
    assert (e.process_id, e.host_name, e.cgroup_id, e.timestamp, e.stack_addresses, e.user_id) == (0, "", 0, 0, None, 0)
    assert e2.process_id == 0
    wire = e.to_dict()
    assert (wire["processId"], wire["hostName"], wire["cgroupId"], wire["userId"]) == (0, "", 0, 0)
    pid_errors = [r for r in tracee_logs.records if "'processId'" in r.getMessage()]
    assert len(pid_errors) >= 2 and "read as 0" in pid_errors[0].getMessage()
    assert Event.from_dict({"eventName": "x", "cgroupId": 2**64 - 1}).cgroup_id == 2**64 - 1


def test_unknown_numeric_type_is_an_error_naming_the_argument():
    with pytest.raises(EventDecodeError, match="argument 'a': unrecognized argument type 'weird_t'"):
        Event.from_dict({"eventName": "x", "args": [{"name": "a", "type": "weird_t", "value": 1}]})


def test_non_numbers_pass_whatever_the_type():
    e = Event.from_dict({"eventName": "x", "args": [{"name": "a", "type": "weird_t", "value": "text"}]})
    assert e.get_arg("a") == "text"


def test_sockaddr_map_and_old_string_form_are_kept():
    m = {"sa_family": "AF_INET", "sin_port": "53", "sin_addr": "10.0.0.1"}
    old = "{'sa_family': 'AF_INET','sin_port': '53','sin_addr': '10.0.0.1'}"
    for value in (m, old):
        e = Event.from_dict({"eventName": "security_socket_connect",
                             "args": [{"name": "remote_addr", "type": "struct sockaddr*", "value": value}]})
        assert e.get_arg("remote_addr") == value


def test_bytes_written_as_base64():
    e = Event("magic_write", [{"name": "bytes", "type": "bytes", "value": b"\x7fELF\x02"}])
    wire = e.to_dict()["args"][0]["value"]
    assert base64.b64decode(wire) == b"\x7fELF\x02"
    assert e.get_arg("bytes") == b"\x7fELF\x02"  # the event itself keeps bytes


@pytest.mark.parametrize("line,message", [
    ("{not json", "invalid JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('{"eventName": 5}', "field 'eventName'"),
    ('{"eventName": "x", "eventId": "abc"}', "field 'eventId'"),
    ('{"eventName": "x", "args": {"a": 1}}', "field 'args'"),
    ('{"eventName": "x", "args": [{"value": 1}]}', "no 'name'"),
    ('{"eventName": "x", "contextFlags": 3}', "field 'contextFlags'"),
])
def test_bad_events_say_what_is_wrong(line, message):
    with pytest.raises(EventDecodeError, match=message):
        Event.from_json(line)


@pytest.mark.parametrize("line,message", [
    ('{"eventName": nul}', "invalid JSON: unexpected text at column 15"),
    ('{"eventName": "x", ', "invalid JSON: the line ends inside an unfinished object"),
    ('{"eventName": "x"} trailing', "invalid JSON: text follows the object at column 20"),
    (b'{"eventName": "\xff"}', "invalid JSON: not UTF-8 text"),
])
def test_bad_json_is_described_in_our_words(line, message):
    """The parser's own wording ("invalid literal, expected 'null'") is not shown to users."""
    with pytest.raises(EventDecodeError) as info:
        Event.from_json(line)
    assert str(info.value) == message


def test_set_arg_updates_lookup():
    e = Event("x", [{"name": "a", "type": "int", "value": 1}])
    assert e.get_arg("a") == 1
    e.set_arg("a", 2)
    e.set_arg("b", "new", "const char*")
    assert (e.get_arg("a"), e.get_arg("b"), e.args_num) == (2, "new", 2)


def test_wire_fields_are_the_entries_of_to_dict():
    event = Event.from_json(b'{"eventName":"write","eventId":"1","processName":5,"cgroupId":1,"containerId":"c",'
                            b'"contextFlags":{"containerStarted":true},"args":[{"name":"buf","type":"bytes",'
                            b'"value":"AEE="}]}')
    event.set_arg("buf", b"\x00A")
    wire = event.to_dict()
    assert event.wire_fields([*wire, "no such field"]) == wire
    assert event.wire_fields(["args", "eventId", "processName"]) == {
        "args": wire["args"], "eventId": "1", "processName": ""}  # a wrong-typed field as to_dict reads it
