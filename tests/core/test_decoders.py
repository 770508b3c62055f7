"""Tests for the argument decoders: raw kernel values to Tracee's parse-arguments strings."""

from __future__ import annotations

import copy
import re
import socket
import struct
from pathlib import Path

import pytest

from tracee.events import catalog
from tracee.events import decoders as d

O_RDONLY, O_WRONLY, O_RDWR = 0, 1, 2
O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_NONBLOCK = 0o100, 0o200, 0o1000, 0o2000, 0o4000
O_LARGEFILE, O_DIRECTORY, O_NOFOLLOW, O_CLOEXEC = 0o100000, 0o200000, 0o400000, 0o2000000


# -- open flags ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "text"), [
    (0o101, "O_WRONLY|O_CREAT"),
    (32768 | 0, "O_RDONLY|O_LARGEFILE"),
    (0, "O_RDONLY"),
    (O_RDWR, "O_RDWR"),
    (O_WRONLY | O_CREAT | O_TRUNC | O_LARGEFILE, "O_WRONLY|O_CREAT|O_TRUNC|O_LARGEFILE"),
    (524288, "O_RDONLY|O_CLOEXEC"),  # the raw openat sample in Tracee's docs
    (O_RDONLY | O_NONBLOCK | O_DIRECTORY | O_CLOEXEC, "O_RDONLY|O_NONBLOCK|O_DIRECTORY|O_CLOEXEC"),
    (O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, "O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW"),
    (O_WRONLY | O_APPEND, "O_WRONLY|O_APPEND"),
    (0o400, "O_RDONLY|O_NOCTTY"),
    (0o10000, "O_RDONLY|O_DSYNC"),
    (0o4010000, "O_RDONLY|O_SYNC"),  # O_SYNC includes O_DSYNC's bit: printed once
    (0o20000, "O_RDONLY|FASYNC"),
    (0o40000, "O_RDONLY|O_DIRECT"),
    (0o1000000, "O_RDONLY|O_NOATIME"),
    (0o10000000, "O_RDONLY|O_PATH"),
    (0o20200000 | O_RDWR, "O_RDWR|O_DIRECTORY|O_TMPFILE"),
    (O_RDWR | O_CREAT | O_CLOEXEC | O_LARGEFILE, "O_RDWR|O_CREAT|O_LARGEFILE|O_CLOEXEC"),
])
def test_open_flags(raw, text):
    assert d.open_flags(raw) == text
    assert d.open_flags(text) == text  # idempotent


def test_open_flags_access_mode_wins_for_invalid_mode_3():
    assert d.open_flags(3).startswith("O_WRONLY")


@pytest.mark.parametrize(("flags", "write", "read"), [
    (O_RDONLY, False, True),
    (O_WRONLY, True, False),
    (O_RDWR, True, True),
    (O_WRONLY | O_CREAT | O_TRUNC, True, False),
    (O_LARGEFILE, False, True),
    ("O_RDONLY|O_LARGEFILE", False, True),
    ("O_WRONLY|O_CREAT", True, False),
    ("o_rdwr", True, True),  # Tracee lower-cases before looking
    ("", False, False),
    ("O_CREAT", False, False),  # strings are never re-decoded
])
def test_is_file_write_and_read(flags, write, read):
    assert d.is_file_write(flags) is write
    assert d.is_file_read(flags) is read


def test_file_helpers_reject_other_types():
    assert d.is_file_write(None) is False
    assert d.is_file_read([1]) is False


# -- ptrace -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "text"), [
    (0, "PTRACE_TRACEME"), (1, "PTRACE_PEEKTEXT"), (2, "PTRACE_PEEKDATA"), (3, "PTRACE_PEEKUSER"),
    (4, "PTRACE_POKETEXT"), (5, "PTRACE_POKEDATA"), (6, "PTRACE_POKEUSER"), (7, "PTRACE_CONT"),
    (8, "PTRACE_KILL"), (9, "PTRACE_SINGLESTEP"), (12, "PTRACE_GETREGS"), (13, "PTRACE_SETREGS"),
    (14, "PTRACE_GETFPREGS"), (15, "PTRACE_SETFPREGS"), (16, "PTRACE_ATTACH"),
    (17, "PTRACE_DETACH"), (18, "PTRACE_GETFPXREGS"), (19, "PTRACE_SETFPXREGS"),
    (24, "PTRACE_SYSCALL"), (30, "PTRACE_ARCH_PRCTL"), (31, "PTRACE_SYSEMU"),
    (32, "PTRACE_SYSEMU_SINGLESTEP"), (0x4200, "PTRACE_SETOPTIONS"),
    (0x4201, "PTRACE_GETEVENTMSG"), (0x4202, "PTRACE_GETSIGINFO"), (0x4203, "PTRACE_SETSIGINFO"),
    (0x4204, "PTRACE_GETREGSET"), (0x4205, "PTRACE_SETREGSET"), (0x4206, "PTRACE_SEIZE"),
    (0x4207, "PTRACE_INTERRUPT"), (0x4208, "PTRACE_LISTEN"), (0x4209, "PTRACE_PEEKSIGINFO"),
    (0x420A, "PTRACE_GETSIGMASK"), (0x420B, "PTRACE_SETSIGMASK"),
    (0x420C, "PTRACE_SECCOMP_GET_FILTER"), (0x420D, "PTRACE_SECCOMP_GET_METADATA"),
    (0x420E, "PTRACE_GET_SYSCALL_INFO"),
])
def test_ptrace_request(raw, text):
    assert d.ptrace_request(raw) == text
    assert d.ptrace_request(text) == text


@pytest.mark.parametrize("raw", [10, 11, 20, 999, 0x4300, -1])
def test_ptrace_request_unknown_prints_the_number(raw):
    assert d.ptrace_request(raw) == str(raw)


# -- memory -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "text"), [
    (0, "PROT_NONE"), (1, "PROT_READ"), (2, "PROT_WRITE"), (4, "PROT_EXEC"),
    (3, "PROT_READ|PROT_WRITE"), (5, "PROT_READ|PROT_EXEC"), (7, "PROT_READ|PROT_WRITE|PROT_EXEC"),
    (0x01000005, "PROT_READ|PROT_EXEC|PROT_GROWSDOWN"),
])
def test_prot(raw, text):
    assert d.prot(raw) == text
    assert d.prot(text) == text


@pytest.mark.parametrize(("raw", "text"), [
    (0x22, "MAP_PRIVATE|MAP_ANONYMOUS"),
    (0x01, "MAP_SHARED"),
    (0x812, "MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE"),
    (0x20022, "MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK"),
    (0x03, "MAP_SHARED_VALIDATE"),
    (0x100022, "MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE"),
])
def test_mmap_flags(raw, text):
    assert d.mmap_flags(raw) == text
    assert d.mmap_flags(text) == text


@pytest.mark.parametrize(("raw", "text"), [
    (1, "Mmaped region with W+E permissions!"),
    (2, "Protection changed to Executable!"),
    (3, "Protection changed from E to W+E!"),
    (4, "Protection changed from W+E to E!"),
    (0, "Unknown alert"), (5, "Unknown alert"),
])
def test_mem_prot_alert(raw, text):
    assert d.mem_prot_alert(raw) == text
    assert d.mem_prot_alert(text) == text


# -- processes ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "text"), [
    (0x1200000, "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID"),
    (0x1200011, "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID"),  # exit signal SIGCHLD ignored
    (0x3D0F00, "CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|"
               "CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID"),
    (0x7C020000, "CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWNET"),
    (0x80000000, "CLONE_IO"),
    (0x11, ""),
])
def test_clone_flags(raw, text):
    assert d.clone_flags(raw) == text
    assert d.clone_flags("CLONE_VM") == "CLONE_VM"


@pytest.mark.parametrize(("nr", "name"), [
    (0, "read"), (1, "write"), (2, "open"), (3, "close"), (9, "mmap"), (10, "mprotect"),
    (32, "dup"), (33, "dup2"), (41, "socket"), (42, "connect"), (56, "clone"), (59, "execve"),
    (62, "kill"), (101, "ptrace"), (165, "mount"), (175, "init_module"), (231, "exit_group"),
    (257, "openat"), (292, "dup3"), (311, "process_vm_writev"), (313, "finit_module"),
    (319, "memfd_create"), (321, "bpf"), (322, "execveat"), (329, "pkey_mprotect"),
    (334, "rseq"), (424, "pidfd_send_signal"), (435, "clone3"), (437, "openat2"),
    (439, "faccessat2"), (450, "set_mempolicy_home_node"),
])
def test_syscall_name(nr, name):
    assert d.syscall_name(nr) == name
    assert d.syscall_name(name) == name


@pytest.mark.parametrize("nr", [335, 400, 423, 451, 9999, -1])
def test_syscall_name_unknown(nr):
    assert d.syscall_name(nr) == str(nr)


UNISTD = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")


@pytest.mark.skipif(not UNISTD.exists(), reason="x86_64 kernel headers not installed")
def test_syscall_table_matches_kernel_headers():
    # Tracee's names for the two renamed entries
    tracee_names = {"_sysctl": "sysctl", "afs_syscall": "afs"}
    for match in re.finditer(r"#define __NR_(\w+) (\d+)", UNISTD.read_text()):
        name, nr = match.group(1), int(match.group(2))
        assert d.syscall_name(nr) == tracee_names.get(name, name), nr


@pytest.mark.parametrize(("raw", "text"), [
    (0, "CAP_CHOWN"), (12, "CAP_NET_ADMIN"), (16, "CAP_SYS_MODULE"), (19, "CAP_SYS_PTRACE"),
    (21, "CAP_SYS_ADMIN"), (37, "CAP_AUDIT_READ"), (39, "CAP_BPF"), (41, "41"), (-2, "-2"),
])
def test_capability(raw, text):
    assert d.capability(raw) == text


# -- files --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "text"), [
    (0o20000, "S_IFCHR"), (0o100000, "S_IFREG"), (0o40000, "S_IFDIR"), (0o10000, "S_IFIFO"),
    (0o140000, "S_IFSOCK"), (0o120000, "S_IFLNK"), (0o60000, "S_IFBLK"),
    (0o20620, "S_IFCHR"),  # permission bits are not a type
    (0, ""),
])
def test_stdin_type(raw, text):
    assert d.stdin_type(raw) == text
    assert d.stdin_type("S_IFCHR") == "S_IFCHR"


@pytest.mark.parametrize(("raw", "text"), [
    (33261, "S_IFREG|S_IRWXU|S_IRGRP|S_IXGRP|S_IROTH|S_IXOTH"),  # 0o100755, the exec sample
    (0o100644, "S_IFREG|S_IRUSR|S_IWUSR|S_IRGRP|S_IROTH"),
    (0o40777, "S_IFDIR|S_IRWXU|S_IRWXG|S_IRWXO"),
    (0o20620, "S_IFCHR|S_IRUSR|S_IWUSR|S_IWGRP"),
    (0o600, "S_IRUSR|S_IWUSR"),
    (0o120777, "S_IFLNK|S_IRWXU|S_IRWXG|S_IRWXO"),
    (0o140755, "S_IFSOCK|S_IRWXU|S_IRGRP|S_IXGRP|S_IROTH|S_IXOTH"),
    (0o60660, "S_IFBLK|S_IRUSR|S_IWUSR|S_IRGRP|S_IWGRP"),
])
def test_inode_mode(raw, text):
    assert d.inode_mode(raw) == text
    assert d.inode_mode(text) == text


@pytest.mark.parametrize(("raw", "text"), [
    (0, "F_OK"), (4, "R_OK"), (2, "W_OK"), (1, "X_OK"), (6, "R_OK|W_OK"), (7, "R_OK|W_OK|X_OK"),
])
def test_access_mode(raw, text):
    assert d.access_mode(raw) == text


@pytest.mark.parametrize(("raw", "text"), [
    (0, "unknown"), (1, "firmware"), (2, "kernel-module"), (3, "kexec-image"),
    (4, "kexec-initramfs"), (5, "security-policy"), (6, "x509-certificate"),
    (7, "unknown"), (-1, "unknown"),
])
def test_kernel_read_file_type(raw, text):
    assert d.kernel_read_file_type(raw) == text
    assert d.kernel_read_file_type(text) == text


@pytest.mark.parametrize(("raw", "text"), [
    (1, "MS_RDONLY"), (2 | 8, "MS_NOSUID|MS_NOEXEC"), (0x1000 | 0x4000, "MS_BIND|MS_REC"),
    (0xC0ED0000 | 0x1, "MS_RDONLY"),  # old callers' magic number in the high bits
    (1 << 18 | 1 << 14, "MS_REC|MS_PRIVATE"), (32, "MS_REMOUNT"), (1 << 21, "MS_RELATIME"),
    (0, ""),
])
def test_mount_flags(raw, text):
    assert d.mount_flags(raw) == text
    assert d.mount_flags("MS_BIND") == "MS_BIND"


# -- sockets ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "text"), [
    (0, "AF_UNSPEC"), (1, "AF_UNIX"), (2, "AF_INET"), (10, "AF_INET6"), (16, "AF_NETLINK"),
    (17, "AF_PACKET"), (40, "AF_VSOCK"), (44, "AF_XDP"), (200, "200"),
])
def test_socket_domain(raw, text):
    assert d.socket_domain(raw) == text
    assert d.socket_domain(text) == text


def test_socket_domain_agrees_with_the_socket_module():
    for name in ("AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK", "AF_PACKET"):
        if hasattr(socket, name):
            assert d.socket_domain(int(getattr(socket, name))) == name


@pytest.mark.parametrize(("raw", "text"), [
    (1, "SOCK_STREAM"), (2, "SOCK_DGRAM"), (3, "SOCK_RAW"), (5, "SOCK_SEQPACKET"),
    (10, "SOCK_PACKET"),
    (1 | 0o4000, "SOCK_STREAM|SOCK_NONBLOCK"),
    (2 | 0o2000000, "SOCK_DGRAM|SOCK_CLOEXEC"),
    (1 | 0o4000 | 0o2000000, "SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC"),
    (7, "7"),
])
def test_socket_type(raw, text):
    assert d.socket_type(raw) == text
    assert d.socket_type(text) == text


@pytest.mark.parametrize(("raw", "text"), [
    (0, "0x0"), (0x7F6F1EB44B83, "0x7f6f1eb44b83"), (255, "0xff"), (-1, "0xffffffffffffffff"),
])
def test_hex_pointer(raw, text):
    assert d.hex_pointer(raw) == text
    assert d.hex_pointer(text) == text


# -- sockaddr -----------------------------------------------------------------------------------
INET = {"sa_family": "AF_INET", "sin_port": "53", "sin_addr": "10.225.0.2"}
INET6 = {"sa_family": "AF_INET6", "sin6_port": "443", "sin6_flowinfo": "0",
         "sin6_addr": "2001:67c:1360:8001::2f", "sin6_scopeid": "0"}
UNIX = {"sa_family": "AF_UNIX", "sun_path": "/var/run/docker.sock"}


def raw_inet(addr: str, port: int) -> bytes:
    return struct.pack("<H", 2) + struct.pack(">H", port) + socket.inet_aton(addr) + bytes(8)


def raw_inet6(addr: str, port: int, flowinfo: int = 0, scope: int = 0) -> bytes:
    return (struct.pack("<H", 10) + struct.pack(">HI", port, flowinfo)
            + socket.inet_pton(socket.AF_INET6, addr) + struct.pack("<I", scope))


def raw_unix(path: bytes) -> bytes:
    return struct.pack("<H", 1) + path.ljust(108, b"\0")


def test_sockaddr_map_of_strings_passes_through():
    assert d.sockaddr(INET) is INET
    assert d.sockaddr(INET6) == INET6
    assert d.sockaddr(UNIX) == UNIX


def test_sockaddr_map_values_become_strings():
    got = d.sockaddr({"sa_family": "AF_INET", "sin_port": 53, "sin_addr": "10.225.0.2"})
    assert got == INET
    assert all(type(v) is str for v in got.values())
    assert d.sockaddr({"sa_family": 2, "sin_port": 80, "sin_addr": "1.2.3.4"}) == {
        "sa_family": "AF_INET", "sin_port": "80", "sin_addr": "1.2.3.4"}


def test_sockaddr_old_single_quoted_string():
    text = "{'sa_family': 'AF_INET','sin_port': '53','sin_addr': '10.225.0.2'}"
    assert d.sockaddr(text) == INET
    # Go map order is random: any key order parses
    assert d.sockaddr("{'sin_addr': '10.225.0.2','sa_family': 'AF_INET','sin_port': '53'}") == INET


def test_sockaddr_json_string():
    assert d.sockaddr('{"sa_family":"AF_UNIX","sun_path":"/var/run/docker.sock"}') == UNIX
    assert d.sockaddr(' {"sa_family": "AF_INET", "sin_port": 53, "sin_addr": "10.225.0.2"} ') == INET


@pytest.mark.parametrize(("raw", "expected"), [
    (raw_inet("10.225.0.2", 53), INET),
    (raw_inet("127.0.0.1", 8080), {"sa_family": "AF_INET", "sin_port": "8080",
                                   "sin_addr": "127.0.0.1"}),
    (raw_inet6("2001:67c:1360:8001::2f", 443), INET6),
    (raw_inet6("::1", 22, flowinfo=0x12345, scope=3),
     {"sa_family": "AF_INET6", "sin6_port": "22", "sin6_flowinfo": str(0x12345),
      "sin6_addr": "::1", "sin6_scopeid": "3"}),
    (raw_inet6("::ffff:10.0.0.1", 80),  # Go prints IPv4-mapped addresses dotted
     {"sa_family": "AF_INET6", "sin6_port": "80", "sin6_flowinfo": "0", "sin6_addr": "10.0.0.1",
      "sin6_scopeid": "0"}),
    (raw_unix(b"/var/run/docker.sock"), UNIX),
    (raw_unix(b"\0my-abstract"), {"sa_family": "AF_UNIX", "sun_path": "@my-abstract"}),
    (struct.pack("<H", 1), {"sa_family": "AF_UNIX", "sun_path": ""}),
    (struct.pack("<H", 16) + bytes(12), {"sa_family": "AF_UNSPEC"}),
    (struct.pack("<H", 0) + bytes(14), {"sa_family": "AF_UNSPEC"}),
])
def test_sockaddr_raw_bytes(raw, expected):
    assert d.sockaddr(raw) == expected
    assert d.sockaddr(bytearray(raw)) == expected
    assert d.sockaddr(memoryview(raw)) == expected


def test_sockaddr_raw_inet6_without_scope_id():
    raw = raw_inet6("fe80::1", 546)[:24]
    assert d.sockaddr(raw)["sin6_scopeid"] == "0"


@pytest.mark.parametrize("bad", [
    None, 5, ["AF_INET"], "", "AF_INET", "{not json", "['a']", "[1, 2]", b"\x02",
    struct.pack("<H", 2) + b"\0\x35", struct.pack("<H", 10) + bytes(10),
])
def test_sockaddr_unparsable_raises_value_error(bad):
    with pytest.raises(ValueError, match="sockaddr"):
        d.sockaddr(bad)


@pytest.mark.parametrize(("value", "expected"), [
    (INET, ("10.225.0.2", "53")),
    (INET6, ("2001:67c:1360:8001::2f", "443")),
    (UNIX, ("", "")),
    ({"sa_family": "AF_UNSPEC"}, ("", "")),
    ("{'sa_family': 'AF_INET','sin_port': '443','sin_addr': '1.1.1.1'}", ("1.1.1.1", "443")),
    (raw_inet("192.168.1.10", 6443), ("192.168.1.10", "6443")),
    ({"sa_family": "AF_INET"}, ("", "")),  # keys missing: empty, as Go's map lookup gives
])
def test_sockaddr_ip_port(value, expected):
    assert d.sockaddr_ip_port(value) == expected


# -- parse_args ---------------------------------------------------------------------------------
def test_parse_args_rewrites_in_place_like_tracee():
    args = [
        {"name": "pathname", "type": "const char*", "value": "/etc/ld.so.preload"},
        {"name": "flags", "type": "int", "value": O_WRONLY | O_CREAT | O_TRUNC | O_LARGEFILE},
        {"name": "dev", "type": "dev_t", "value": 271581185},
        {"name": "inode", "type": "unsigned long", "value": 2493759},
        {"name": "ctime", "type": "unsigned long", "value": 1653730234432691496},
        {"name": "syscall_pathname", "type": "const char*", "value": ""},
        {"name": "syscall", "type": "int", "value": 257},
    ]
    same_list = args
    d.parse_args("security_file_open", args)
    assert args is same_list
    assert args[1] == {"name": "flags", "type": "string",
                       "value": "O_WRONLY|O_CREAT|O_TRUNC|O_LARGEFILE"}
    # Tracee v0.8 keeps the declared type of the syscall argument
    assert args[6] == {"name": "syscall", "type": "int", "value": "openat"}
    assert args[2]["value"] == 271581185 and args[2]["type"] == "dev_t"
    assert args[3]["value"] == 2493759
    assert args[0]["value"] == "/etc/ld.so.preload"


def test_parse_args_ptrace_matches_tracee_sample():
    args = [{"name": "request", "type": "long", "value": 0},
            {"name": "pid", "type": "pid_t", "value": 0},
            {"name": "addr", "type": "void*", "value": 0},
            {"name": "data", "type": "void*", "value": 0}]
    d.parse_args("ptrace", args)
    assert args == [{"name": "request", "type": "string", "value": "PTRACE_TRACEME"},
                    {"name": "pid", "type": "pid_t", "value": 0},
                    {"name": "addr", "type": "void*", "value": "0x0"},
                    {"name": "data", "type": "void*", "value": "0x0"}]


@pytest.mark.parametrize(("event", "arg", "raw", "text"), [
    ("open", "flags", 0o101, "O_WRONLY|O_CREAT"),
    ("openat", "flags", 524288, "O_RDONLY|O_CLOEXEC"),
    ("mmap", "prot", 5, "PROT_READ|PROT_EXEC"),
    ("mprotect", "prot", 7, "PROT_READ|PROT_WRITE|PROT_EXEC"),
    ("pkey_mprotect", "prot", 0, "PROT_NONE"),
    ("security_file_mprotect", "prot", 4, "PROT_EXEC"),
    ("mem_prot_alert", "alert", 4, "Protection changed from W+E to E!"),
    ("security_kernel_read_file", "type", 2, "kernel-module"),
    ("clone", "flags", 0x1200011, "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID"),
    ("socket", "domain", 10, "AF_INET6"),
    ("socket", "type", 0x80801, "SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC"),
    ("security_socket_create", "family", 2, "AF_INET"),
    ("sched_process_exec", "stdin_type", 0o20000, "S_IFCHR"),
    ("cap_capable", "cap", 21, "CAP_SYS_ADMIN"),
    ("access", "mode", 4, "R_OK"),
    ("chmod", "mode", 0o100755, "S_IFREG|S_IRWXU|S_IRGRP|S_IXGRP|S_IROTH|S_IXOTH"),
])
def test_parse_args_covers_tracees_parsers(event, arg, raw, text):
    args = [{"name": arg, "type": "int", "value": raw}]
    d.parse_args(event, args)
    assert args == [{"name": arg, "type": "string", "value": text}]


def test_parse_args_leaves_unparsed_arguments_raw():
    args = [{"name": "dev_name", "type": "const char*", "value": "/dev/sda1"},
            {"name": "flags", "type": "unsigned long", "value": 0x1000}]
    before = copy.deepcopy(args)
    d.parse_args("security_sb_mount", args)  # Tracee does not parse these flags
    assert args == before
    other = [{"name": "flags", "type": "int", "value": 0o101}]
    d.parse_args("dup3", other)  # same arg name, other event: not an open flag
    assert other == [{"name": "flags", "type": "int", "value": 0o101}]
    unknown = [{"name": "flags", "type": "int", "value": 3}]
    d.parse_args("no_such_event", unknown)
    assert unknown == [{"name": "flags", "type": "int", "value": 3}]


def test_parse_args_is_idempotent():
    args = [{"name": "request", "type": "long", "value": 16},
            {"name": "addr", "type": "void*", "value": 0x7FFF0000}]
    d.parse_args("ptrace", args)
    once = copy.deepcopy(args)
    d.parse_args("ptrace", args)
    assert args == once == [{"name": "request", "type": "string", "value": "PTRACE_ATTACH"},
                            {"name": "addr", "type": "void*", "value": "0x7fff0000"}]
    # a v0.6-shaped already-parsed value keeps its declared type
    old = [{"name": "request", "type": "long", "value": "PTRACE_TRACEME"}]
    d.parse_args("ptrace", old)
    assert old == [{"name": "request", "type": "long", "value": "PTRACE_TRACEME"}]


def test_parse_args_skips_non_int_values():
    addr = {"sa_family": "AF_INET", "sin_port": "53", "sin_addr": "10.225.0.2"}
    args = [{"name": "sockfd", "type": "int", "value": 3},
            {"name": "remote_addr", "type": "struct sockaddr*", "value": addr},
            {"name": "argv", "type": "const char**", "value": ["a", "b"]},
            {"name": "flag", "type": "bool", "value": True},
            {"name": "missing_value", "type": "int"}]
    before = copy.deepcopy(args)
    d.parse_args("security_socket_connect", args)
    assert args == before
    assert args[1]["value"] is addr


def test_parsers_table_points_at_decoders():
    assert d.PARSERS[("ptrace", "request")] is d.ptrace_request
    assert d.PARSERS[("security_file_open", "flags")] is d.open_flags
    assert d.PARSERS[("security_file_open", "syscall")] is d.syscall_name
    assert ("security_sb_mount", "flags") not in d.PARSERS
    for (event, arg), parser in d.PARSERS.items():
        assert isinstance(event, str) and isinstance(arg, str) and callable(parser)
        assert parser("already parsed") == "already parsed", (event, arg)
        assert isinstance(parser(1), str), (event, arg)


def test_parsers_name_events_and_arguments_of_the_catalog():
    for event, arg in d.PARSERS:
        definition = catalog.by_name(event)
        assert definition is not None, event
        assert arg in [a.name for a in definition.args], (event, arg)


@pytest.mark.parametrize(("event", "arg", "declared", "parser", "printed"), [
    ("ptrace", "request", "long", d.ptrace_request, "string"),
    ("security_file_open", "flags", "int", d.open_flags, "string"),
    ("security_file_open", "syscall", "int", d.syscall_name, "int"),  # v0.8 keeps the declared type
    ("ptrace", "addr", "void*", d.hex_pointer, "void*"),
    ("process_vm_writev", "local_iov", "const struct iovec*", d.hex_pointer, "const struct iovec*"),
    ("getcwd", "buf", "char*", d.hex_pointer, "char*"),
    ("security_file_open", "pathname", "const char*", None, "const char*"),
    ("execve", "argv", "const char*const*", None, "const char*const*"),
    ("sched_process_exec", "argv", "const char**", None, "const char**"),
    ("security_socket_connect", "remote_addr", "struct sockaddr*", None, "struct sockaddr*"),
    ("security_sb_mount", "flags", "unsigned long", None, "unsigned long"),
    ("dup3", "flags", "int", None, "int"),
])
def test_arg_parser_is_the_parse_arguments_rule(event, arg, declared, parser, printed):
    assert d.arg_parser(event, arg, declared) == (parser, printed)


def test_syscall_names_come_from_the_catalog():
    x86_64 = [e for e in catalog.EVENTS if e.syscall and "32bit_unique" not in e.sets]
    assert len(x86_64) == 360
    assert all(d.syscall_name(e.id) == e.name for e in x86_64)
    assert d.syscall_name(3000) == "3000"  # waitpid: a 32-bit-only syscall, no x86-64 number
