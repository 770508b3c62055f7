"""Varied Tracee events for the gob tests: every argument value type tracee-ebpf sends, edge values."""

from __future__ import annotations

import random

from tracee import Event

TEXTS = ["", "bash", "/etc/ld.so.cache", "naïve café", "日本語のパス", "emoji 🛡️🐧", "tab\tnew\nline",
         "quote\" back\\slash", "<script>&amp;", "nul\x00inside", "\u2028\u2029", "x" * 70_000]


def _text(rng: random.Random) -> str:
    text = rng.choice(TEXTS)
    return text if len(text) < 1000 or rng.random() < 0.02 else "short"


def argument(rng: random.Random, i: int) -> dict:
    """One argument of every kind tracee-ebpf produces, with edge values."""
    kind = i % 24
    if kind == 0:
        return {"name": "fd", "type": "int", "value": rng.choice([0, -1, -100, 2**31 - 1, -2**31, 7])}
    if kind == 1:
        return {"name": "request", "type": "long", "value": rng.choice([0, -2**63, 2**63 - 1, 16])}
    if kind == 2:
        return {"name": "flags", "type": "unsigned int", "value": rng.choice([0, 2**32 - 1, 524288])}
    if kind == 3:
        return {"name": "inode", "type": "unsigned long", "value": rng.choice([0, 2**64 - 1, 2493759])}
    if kind == 4:
        return {"name": "mode", "type": "umode_t", "value": rng.choice([0, 33261, 65535])}
    if kind == 5:
        return {"name": "addr", "type": "void*", "value": rng.choice([0, 2**64 - 1, 0x7F6F1EB44B83])}
    if kind == 6:
        return {"name": "pathname", "type": "const char*", "value": _text(rng)}
    if kind == 7:
        return {"name": "argv", "type": "const char**", "value": [_text(rng) for _ in range(rng.randrange(4))]}
    if kind == 8:
        return {"name": "remote_addr", "type": "struct sockaddr*", "value": rng.choice([
            {}, {"sa_family": "AF_INET", "sin_port": "53", "sin_addr": "10.225.0.2"},
            {"sa_family": "AF_UNIX", "sun_path": "/var/run/docker.sock"},
            {"sa_family": "AF_INET6", "sin6_port": "443", "sin6_flowinfo": "0",
             "sin6_addr": "2001:67c:1360:8001::2f", "sin6_scopeid": "0"}])}
    if kind == 9:
        return {"name": "bytes", "type": "bytes", "value": bytes(rng.randrange(256) for _ in range(rng.randrange(40)))}
    if kind == 10:
        cred = {f: rng.randrange(2**32) for f in ("Uid", "Gid", "Suid", "Sgid", "Euid", "Egid", "Fsuid",
                                                  "Fsgid", "UserNamespace", "SecureBits")}
        cred.update({f: rng.choice([0, 2**64 - 1, 0x1FFFFFFFFFF]) for f in (
            "CapInheritable", "CapPermitted", "CapEffective", "CapBounding", "CapAmbient")})
        return {"name": "old_cred", "type": "slim_cred_t", "value": cred}
    if kind == 11:
        return {"name": "hooked_syscalls", "type": "[]trace.HookedSymbolData",
                "value": [{"SymbolName": "kill", "ModuleOwner": "diamorphine"},
                          {"SymbolName": _text(rng), "ModuleOwner": "hidden"}][:rng.randrange(3)]}
    if kind == 12:
        return {"name": "hooked_fops", "type": "map[string]trace.HookedSymbolData",
                "value": {"iterate_shared": {"SymbolName": "filldir", "ModuleOwner": "rootkit"}}}
    if kind == 13:
        return {"name": "metadata", "type": "trace.PktMeta",
                "value": {"src_ip": "10.0.0.1", "dst_ip": "8.8.8.8", "src_port": 50000, "dst_port": 53,
                          "protocol": 17, "packet_len": 74}}
    if kind == 14:
        return {"name": "dns_questions", "type": "[]trace.DnsQueryData",
                "value": [{"query": "example.com", "query_type": "A", "query_class": "IN"}]}
    if kind == 15:
        return {"name": "dns_response", "type": "[]trace.DnsResponseData",
                "value": [{"query_data": {"query": "example.com", "query_type": "A", "query_class": "IN"},
                           "dns_answer": [{"answer_type": "A", "ttl": 300, "answer": "93.184.216.34"}]}]}
    if kind == 16:
        return {"name": "process_group_exit", "type": "bool", "value": rng.choice([True, False])}
    if kind == 17:
        return {"name": "ratio", "type": "float", "value": rng.choice([0.0, 0.5, -1.25, 3.0])}
    if kind == 18:
        return {"name": "seconds", "type": "float64", "value": rng.choice([1e-300, -2.5, 1e21, 0.1])}
    if kind == 19:  # parsed (parse-arguments) values under their declared type, as Tracee v0.6 keeps it
        return {"name": "request", "type": rng.choice(["long", "string"]), "value": "PTRACE_TRACEME"}
    if kind == 20:
        return {"name": "pipefd", "type": "int[2]", "value": [3, 4]}
    if kind == 21:
        return {"name": "syscall_table", "type": "unsigned long[]", "value": [0, 2**64 - 1, 1]}
    if kind == 22:  # values that do not fit their declared type keep their value
        return {"name": "oddity", "type": rng.choice(["int", "unsigned int"]), "value": rng.choice([2**40, -5, -2**40])}
    return {"name": "nothing", "type": "int", "value": None}  # a nil argument value


def varied_events(n: int, seed: int = 14) -> list[Event]:
    rng = random.Random(seed)
    events = []
    for i in range(n):
        args = [argument(rng, i * 7 + j) for j in range(rng.randrange(0, 9))]
        ints = {attr: rng.choice([0, 1, -1, 2**63 - 1, -2**63, rng.randrange(1 << 40)]) for attr in (
            "thread_start_time", "processor_id", "process_id", "thread_id", "parent_process_id",
            "host_process_id", "host_thread_id", "host_parent_process_id", "user_id", "mount_namespace",
            "pid_namespace", "return_value")}
        strings = {attr: _text(rng) for attr in ("process_name", "host_name", "container_image",
                                                 "container_name", "pod_name", "pod_namespace", "pod_uid")}
        events.append(Event(
            rng.choice(["openat", "execve", "security_socket_connect", "ptrace", "café_event", ""]), args,
            event_id=rng.choice([0, 257, 722, -1, 2**31]), container_id=rng.choice(["", "ab356bc4dd554" * 5]),
            container_started=rng.random() < 0.3, timestamp=rng.choice([0, 1657290245020855990, -5]),
            cgroup_id=rng.choice([0, 1, 2**64 - 1]), args_num=len(args),
            stack_addresses=rng.choice([None, [], [0x7F00DEADBEEF, 2**64 - 1]]), **ints, **strings))
    return events
