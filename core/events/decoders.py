"""Argument decoders: raw kernel values to the strings Tracee's `parse-arguments` option prints."""

from __future__ import annotations

import ipaddress
import json
from functools import lru_cache
from typing import Any, Callable

# The tables below are written by hand, for the x86_64 Linux ABI: no maintained Python library
# exposes these name tables (ptrace requests, open/mmap/clone/mount flags), and the `os`,
# `socket` and `mmap` constants cover only some of them, depend on the platform Python was built
# for, and give values, not the names Tracee prints. Names and print order follow Tracee v0.8
# (libbpfgo helpers), which the signatures compare against. Syscall names come from the catalog.
#
# Every decoder is idempotent: a `str` is taken to be already parsed and is returned unchanged.

_U64 = 0xFFFF_FFFF_FFFF_FFFF


def _join(value: int, table: tuple[tuple[int, int, str], ...]) -> list[str]:
    # table rows are (mask, expected, name): the name is printed when value & mask == expected.
    return [name for mask, expected, name in table if value & mask == expected]


def _bits(*pairs: tuple[int, str]) -> tuple[tuple[int, int, str], ...]:
    return tuple((bit, bit, name) for bit, name in pairs)


# -- open(2) flags ------------------------------------------------------------------------------
# Tracee's print order, not bit order (O_DIRECT comes after O_CLOEXEC). Tracee v0.8 never printed
# a lone O_DSYNC and printed raw 0 as "", not "O_RDONLY"; those two cases follow later releases.
_O_SYNC_BITS = 0o4010000  # O_SYNC is __O_SYNC | O_DSYNC
_OPEN_FLAGS = (
    *_bits((0o100, "O_CREAT"), (0o200, "O_EXCL"), (0o400, "O_NOCTTY"), (0o1000, "O_TRUNC"),
           (0o2000, "O_APPEND"), (0o4000, "O_NONBLOCK")),
    (_O_SYNC_BITS, 0o10000, "O_DSYNC"),
    (_O_SYNC_BITS, _O_SYNC_BITS, "O_SYNC"),
    *_bits((0o20000, "FASYNC"), (0o100000, "O_LARGEFILE"), (0o200000, "O_DIRECTORY"),
           (0o400000, "O_NOFOLLOW"), (0o2000000, "O_CLOEXEC"), (0o40000, "O_DIRECT"),
           (0o1000000, "O_NOATIME"), (0o10000000, "O_PATH"), (0o20000000, "O_TMPFILE")),
)


@lru_cache(maxsize=1024)
def _open_flags(value: int) -> str:
    if value & 1:
        mode = "O_WRONLY"
    elif value & 2:
        mode = "O_RDWR"
    else:
        mode = "O_RDONLY"
    return "|".join([mode, *_join(value, _OPEN_FLAGS)])


def open_flags(v: int | str) -> str:
    """open(2) flags: access mode first, then the other O_* names, e.g. 0o101 -> "O_WRONLY|O_CREAT"."""
    if isinstance(v, str):
        return v
    return _open_flags(v & _U64)


def is_file_write(flags: int | str) -> bool:
    """Tracee's helper: the parsed flags contain O_WRONLY or O_RDWR (ints are decoded first)."""
    if not isinstance(flags, (int, str)):
        return False
    text = open_flags(flags).lower()
    return "o_wronly" in text or "o_rdwr" in text


def is_file_read(flags: int | str) -> bool:
    """Tracee's helper: the parsed flags contain O_RDONLY or O_RDWR (ints are decoded first)."""
    if not isinstance(flags, (int, str)):
        return False
    text = open_flags(flags).lower()
    return "o_rdonly" in text or "o_rdwr" in text


# -- ptrace(2) requests -------------------------------------------------------------------------
# Tracee spells 3 and 6 PTRACE_PEEKUSER / PTRACE_POKEUSER (glibc's names; the kernel header says
# PEEKUSR / POKEUSR). 21 and 25-33 are x86 only.
_PTRACE_REQUESTS = {
    0: "PTRACE_TRACEME", 1: "PTRACE_PEEKTEXT", 2: "PTRACE_PEEKDATA", 3: "PTRACE_PEEKUSER",
    4: "PTRACE_POKETEXT", 5: "PTRACE_POKEDATA", 6: "PTRACE_POKEUSER", 7: "PTRACE_CONT",
    8: "PTRACE_KILL", 9: "PTRACE_SINGLESTEP", 12: "PTRACE_GETREGS", 13: "PTRACE_SETREGS",
    14: "PTRACE_GETFPREGS", 15: "PTRACE_SETFPREGS", 16: "PTRACE_ATTACH", 17: "PTRACE_DETACH",
    18: "PTRACE_GETFPXREGS", 19: "PTRACE_SETFPXREGS", 21: "PTRACE_OLDSETOPTIONS",
    24: "PTRACE_SYSCALL",
    25: "PTRACE_GET_THREAD_AREA", 26: "PTRACE_SET_THREAD_AREA", 30: "PTRACE_ARCH_PRCTL",
    31: "PTRACE_SYSEMU", 32: "PTRACE_SYSEMU_SINGLESTEP", 33: "PTRACE_SINGLEBLOCK",
    0x4200: "PTRACE_SETOPTIONS", 0x4201: "PTRACE_GETEVENTMSG", 0x4202: "PTRACE_GETSIGINFO",
    0x4203: "PTRACE_SETSIGINFO", 0x4204: "PTRACE_GETREGSET", 0x4205: "PTRACE_SETREGSET",
    0x4206: "PTRACE_SEIZE", 0x4207: "PTRACE_INTERRUPT", 0x4208: "PTRACE_LISTEN",
    0x4209: "PTRACE_PEEKSIGINFO", 0x420A: "PTRACE_GETSIGMASK", 0x420B: "PTRACE_SETSIGMASK",
    0x420C: "PTRACE_SECCOMP_GET_FILTER", 0x420D: "PTRACE_SECCOMP_GET_METADATA",
    0x420E: "PTRACE_GET_SYSCALL_INFO", 0x420F: "PTRACE_GET_RSEQ_CONFIGURATION",
}


def ptrace_request(v: int | str) -> str:
    """A ptrace request name, e.g. 0 -> "PTRACE_TRACEME"; unknown numbers print as decimal."""
    if isinstance(v, str):
        return v
    return _PTRACE_REQUESTS.get(v) or str(v)


# -- memory protection and mmap(2) flags --------------------------------------------------------
_PROT = _bits((0x1, "PROT_READ"), (0x2, "PROT_WRITE"), (0x4, "PROT_EXEC"), (0x8, "PROT_SEM"),
              (0x01000000, "PROT_GROWSDOWN"), (0x02000000, "PROT_GROWSUP"))


@lru_cache(maxsize=256)
def _prot(value: int) -> str:
    return "|".join(_join(value, _PROT)) if value else "PROT_NONE"


def prot(v: int | str) -> str:
    """mmap/mprotect `prot`, e.g. 5 -> "PROT_READ|PROT_EXEC"; 0 -> "PROT_NONE"."""
    if isinstance(v, str):
        return v
    return _prot(v & _U64)


_MAP_TYPES = {1: "MAP_SHARED", 2: "MAP_PRIVATE", 3: "MAP_SHARED_VALIDATE"}
_MAP_FLAGS = _bits(
    (0x10, "MAP_FIXED"), (0x20, "MAP_ANONYMOUS"), (0x40, "MAP_32BIT"), (0x100, "MAP_GROWSDOWN"),
    (0x800, "MAP_DENYWRITE"), (0x1000, "MAP_EXECUTABLE"), (0x2000, "MAP_LOCKED"),
    (0x4000, "MAP_NORESERVE"), (0x8000, "MAP_POPULATE"), (0x10000, "MAP_NONBLOCK"),
    (0x20000, "MAP_STACK"), (0x40000, "MAP_HUGETLB"), (0x80000, "MAP_SYNC"),
    (0x100000, "MAP_FIXED_NOREPLACE"), (0x4000000, "MAP_UNINITIALIZED"))


@lru_cache(maxsize=256)
def _mmap_flags(value: int) -> str:
    kind = _MAP_TYPES.get(value & 0xF)
    names = _join(value, _MAP_FLAGS)
    return "|".join([kind, *names] if kind else names)


def mmap_flags(v: int | str) -> str:
    """mmap(2) `flags`: the mapping type then MAP_* flags, e.g. 0x22 -> "MAP_PRIVATE|MAP_ANONYMOUS"."""
    if isinstance(v, str):
        return v
    return _mmap_flags(v & _U64)


_ALERTS = {
    1: "Mmaped region with W+E permissions!",
    2: "Protection changed to Executable!",
    3: "Protection changed from E to W+E!",
    4: "Protection changed from W+E to E!",
}


def mem_prot_alert(v: int | str) -> str:
    """mem_prot_alert's `alert` (Tracee's enum 1..4), e.g. 4 -> "Protection changed from W+E to E!"."""
    if isinstance(v, str):
        return v
    return _ALERTS.get(v, "Unknown alert")


# -- processes ----------------------------------------------------------------------------------
_CLONE_FLAGS = _bits(
    (0x100, "CLONE_VM"), (0x200, "CLONE_FS"), (0x400, "CLONE_FILES"), (0x800, "CLONE_SIGHAND"),
    (0x1000, "CLONE_PIDFD"), (0x2000, "CLONE_PTRACE"), (0x4000, "CLONE_VFORK"),
    (0x8000, "CLONE_PARENT"), (0x10000, "CLONE_THREAD"), (0x20000, "CLONE_NEWNS"),
    (0x40000, "CLONE_SYSVSEM"), (0x80000, "CLONE_SETTLS"), (0x100000, "CLONE_PARENT_SETTID"),
    (0x200000, "CLONE_CHILD_CLEARTID"), (0x400000, "CLONE_DETACHED"),
    (0x800000, "CLONE_UNTRACED"), (0x1000000, "CLONE_CHILD_SETTID"),
    (0x2000000, "CLONE_NEWCGROUP"), (0x4000000, "CLONE_NEWUTS"), (0x8000000, "CLONE_NEWIPC"),
    (0x10000000, "CLONE_NEWUSER"), (0x20000000, "CLONE_NEWPID"), (0x40000000, "CLONE_NEWNET"),
    (0x80000000, "CLONE_IO"))


@lru_cache(maxsize=256)
def _clone_flags(value: int) -> str:
    return "|".join(_join(value, _CLONE_FLAGS))


def clone_flags(v: int | str) -> str:
    """clone(2) flags, e.g. 0x1200000 -> "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID".

    The low byte (the exit signal) is not a flag; no known flag gives "".
    """
    if isinstance(v, str):
        return v
    return _clone_flags(v & _U64)


_CAPABILITIES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
    "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
    "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
)


def capability(v: int | str) -> str:
    """A capability number as its CAP_* name, e.g. 21 -> "CAP_SYS_ADMIN"; unknown -> decimal."""
    if isinstance(v, str):
        return v
    return _CAPABILITIES[v] if 0 <= v < len(_CAPABILITIES) else str(v)


# -- files ----------------------------------------------------------------------------------------
_S_IFMT = 0o170000
_FILE_TYPES = {
    0o140000: "S_IFSOCK", 0o120000: "S_IFLNK", 0o100000: "S_IFREG", 0o060000: "S_IFBLK",
    0o040000: "S_IFDIR", 0o020000: "S_IFCHR", 0o010000: "S_IFIFO",
}
# Permission bits per class: all three print as the class's S_IRWX* name.
_PERM_CLASSES = (
    (0o700, "S_IRWXU", ((0o400, "S_IRUSR"), (0o200, "S_IWUSR"), (0o100, "S_IXUSR"))),
    (0o070, "S_IRWXG", ((0o040, "S_IRGRP"), (0o020, "S_IWGRP"), (0o010, "S_IXGRP"))),
    (0o007, "S_IRWXO", ((0o004, "S_IROTH"), (0o002, "S_IWOTH"), (0o001, "S_IXOTH"))),
)


@lru_cache(maxsize=256)
def _inode_mode(value: int) -> str:
    names = []
    kind = _FILE_TYPES.get(value & _S_IFMT)
    if kind:
        names.append(kind)
    for all_bits, all_name, singles in _PERM_CLASSES:
        if value & all_bits == all_bits:
            names.append(all_name)
        else:
            names.extend(name for bit, name in singles if value & bit)
    return "|".join(names)


def inode_mode(v: int | str) -> str:
    """A file mode: type then permissions, e.g. 0o100755 -> "S_IFREG|S_IRWXU|S_IRGRP|S_IXGRP|..."."""
    if isinstance(v, str):
        return v
    return _inode_mode(v & _U64)


def stdin_type(v: int | str) -> str:
    """sched_process_exec's `stdin_type`: the file type only, e.g. 0o20620 -> "S_IFCHR" ("" if none)."""
    if isinstance(v, str):
        return v
    return _FILE_TYPES.get(v & _S_IFMT, "")


def access_mode(v: int | str) -> str:
    """access(2) `mode`: 0 -> "F_OK", else R_OK|W_OK|X_OK as set."""
    if isinstance(v, str):
        return v
    if v == 0:
        return "F_OK"
    return "|".join(name for bit, name in ((4, "R_OK"), (2, "W_OK"), (1, "X_OK")) if v & bit)


# Kernels >= 5.9.3 (enum kernel_read_file_id); older kernels number the same ids differently.
_READ_FILE_TYPES = ("unknown", "firmware", "kernel-module", "kexec-image", "kexec-initramfs",
                    "security-policy", "x509-certificate")


def kernel_read_file_type(v: int | str) -> str:
    """security_kernel_read_file's `type` (kernel >= 5.9.3 numbering), e.g. 2 -> "kernel-module"."""
    if isinstance(v, str):
        return v
    return _READ_FILE_TYPES[v] if 0 <= v < len(_READ_FILE_TYPES) else "unknown"


_MS_MGC_MASK, _MS_MGC_VAL = 0xFFFF0000, 0xC0ED0000  # magic old callers put in the high bits
_MOUNT_FLAGS = _bits(
    (1, "MS_RDONLY"), (2, "MS_NOSUID"), (4, "MS_NODEV"), (8, "MS_NOEXEC"),
    (16, "MS_SYNCHRONOUS"), (32, "MS_REMOUNT"), (64, "MS_MANDLOCK"), (128, "MS_DIRSYNC"),
    (256, "MS_NOSYMFOLLOW"), (1024, "MS_NOATIME"), (2048, "MS_NODIRATIME"), (4096, "MS_BIND"),
    (8192, "MS_MOVE"), (16384, "MS_REC"), (32768, "MS_SILENT"), (1 << 16, "MS_POSIXACL"),
    (1 << 17, "MS_UNBINDABLE"), (1 << 18, "MS_PRIVATE"), (1 << 19, "MS_SLAVE"),
    (1 << 20, "MS_SHARED"), (1 << 21, "MS_RELATIME"), (1 << 22, "MS_KERNMOUNT"),
    (1 << 23, "MS_I_VERSION"), (1 << 24, "MS_STRICTATIME"), (1 << 25, "MS_LAZYTIME"),
    (1 << 30, "MS_ACTIVE"), (1 << 31, "MS_NOUSER"))


@lru_cache(maxsize=256)
def _mount_flags(value: int) -> str:
    if value & _MS_MGC_MASK == _MS_MGC_VAL:
        value &= 0xFFFF
    return "|".join(_join(value, _MOUNT_FLAGS))


def mount_flags(v: int | str) -> str:
    """mount(2) flags, e.g. 0x1000|0x4000 -> "MS_BIND|MS_REC" (no known flag gives "")."""
    if isinstance(v, str):
        return v
    return _mount_flags(v & _U64)


# -- sockets ----------------------------------------------------------------------------------------
_ADDRESS_FAMILIES = (
    "AF_UNSPEC", "AF_UNIX", "AF_INET", "AF_AX25", "AF_IPX", "AF_APPLETALK", "AF_NETROM",
    "AF_BRIDGE", "AF_ATMPVC", "AF_X25", "AF_INET6", "AF_ROSE", "AF_DECnet", "AF_NETBEUI",
    "AF_SECURITY", "AF_KEY", "AF_NETLINK", "AF_PACKET", "AF_ASH", "AF_ECONET", "AF_ATMSVC",
    "AF_RDS", "AF_SNA", "AF_IRDA", "AF_PPPOX", "AF_WANPIPE", "AF_LLC", "AF_IB", "AF_MPLS",
    "AF_CAN", "AF_TIPC", "AF_BLUETOOTH", "AF_IUCV", "AF_RXRPC", "AF_ISDN", "AF_PHONET",
    "AF_IEEE802154", "AF_CAIF", "AF_ALG", "AF_NFC", "AF_VSOCK", "AF_KCM", "AF_QIPCRTR", "AF_SMC",
    "AF_XDP", "AF_MCTP",
)


def socket_domain(v: int | str) -> str:
    """An address family, e.g. 2 -> "AF_INET"; unknown numbers print as decimal."""
    if isinstance(v, str):
        return v
    return _ADDRESS_FAMILIES[v] if 0 <= v < len(_ADDRESS_FAMILIES) else str(v)


_SOCKET_TYPES = {1: "SOCK_STREAM", 2: "SOCK_DGRAM", 3: "SOCK_RAW", 4: "SOCK_RDM",
                 5: "SOCK_SEQPACKET", 6: "SOCK_DCCP", 10: "SOCK_PACKET"}
_SOCK_NONBLOCK, _SOCK_CLOEXEC = 0o4000, 0o2000000


@lru_cache(maxsize=128)
def _socket_type(value: int) -> str:
    # Tracee prints the whole raw value when the base type is unknown.
    names = [_SOCKET_TYPES.get(value & 0xF) or str(value)]
    if value & _SOCK_NONBLOCK:
        names.append("SOCK_NONBLOCK")
    if value & _SOCK_CLOEXEC:
        names.append("SOCK_CLOEXEC")
    return "|".join(names)


def socket_type(v: int | str) -> str:
    """socket(2) `type`, e.g. 0x80801 -> "SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC"."""
    if isinstance(v, str):
        return v
    return _socket_type(v & _U64)


_AF_UNIX, _AF_INET, _AF_INET6 = 1, 2, 10
_V4_MAPPED_PREFIX = bytes(10) + b"\xff\xff"


def _ipv4_text(raw: bytes) -> str:
    return f"{raw[0]}.{raw[1]}.{raw[2]}.{raw[3]}"


def _ipv6_text(raw: bytes) -> str:
    # Go (and so Tracee) prints IPv4-mapped IPv6 addresses in dotted form.
    if raw[:12] == _V4_MAPPED_PREFIX:
        return _ipv4_text(raw[12:16])
    return ipaddress.IPv6Address(raw).compressed


def _sockaddr_from_raw(data: bytes) -> dict[str, str]:
    if len(data) < 2:
        raise ValueError(f"sockaddr: {len(data)} byte(s) is too short for sa_family")
    family = int.from_bytes(data[:2], "little")
    if family == _AF_INET:
        if len(data) < 8:
            raise ValueError(f"sockaddr: AF_INET needs 8 bytes, got {len(data)}")
        return {"sa_family": "AF_INET", "sin_port": str(int.from_bytes(data[2:4], "big")),
                "sin_addr": _ipv4_text(data[4:8])}
    if family == _AF_INET6:
        if len(data) < 24:
            raise ValueError(f"sockaddr: AF_INET6 needs 24 bytes, got {len(data)}")
        scope = int.from_bytes(data[24:28], "little") if len(data) >= 28 else 0
        return {"sa_family": "AF_INET6", "sin6_port": str(int.from_bytes(data[2:4], "big")),
                "sin6_flowinfo": str(int.from_bytes(data[4:8], "big")),
                "sin6_addr": _ipv6_text(data[8:24]), "sin6_scopeid": str(scope)}
    if family == _AF_UNIX:
        path = data[2:110]
        if path[:1] == b"\0":  # abstract namespace: the name follows a NUL, padded with NULs
            name = path[1:].rstrip(b"\0")
            text = "@" + name.decode("utf-8", "replace") if name else ""
        else:
            text = path.split(b"\0", 1)[0].decode("utf-8", "replace")
        return {"sa_family": "AF_UNIX", "sun_path": text}
    return {"sa_family": "AF_UNSPEC"}


def _sockaddr_from_map(value: dict) -> dict[str, str]:
    for key, item in value.items():
        if type(key) is not str or type(item) is not str:
            break
    else:
        return value  # already dict[str, str]: no copy on the hot path
    out = {str(k): str(item) for k, item in value.items()}
    family = value.get("sa_family")
    if isinstance(family, int):
        out["sa_family"] = socket_domain(family)
    return out


def _sockaddr_from_text(text: str) -> dict[str, str]:
    stripped = text.strip()
    if not stripped.startswith("{"):
        raise ValueError(f"sockaddr: not an address map: {text!r}")
    try:
        parsed = json.loads(stripped)
    except ValueError:
        try:  # Tracee v0.6.0-v0.6.4: "{'sa_family': 'AF_INET','sin_port': '53', ...}"
            parsed = json.loads(stripped.replace("'", '"'))
        except ValueError:
            raise ValueError(f"sockaddr: cannot parse {text!r}") from None
    if not isinstance(parsed, dict):
        raise ValueError(f"sockaddr: not an address map: {text!r}")
    return _sockaddr_from_map(parsed)


def sockaddr(value: Any) -> dict[str, str]:
    """A `struct sockaddr*` argument as Tracee's string map, whatever form it arrives in.

    Accepts the map (values made strings), the v0.6.0-v0.6.4 single-quoted string or a JSON
    string, or the raw bytes of a `struct sockaddr`. Keys are Tracee's: AF_INET gives
    sa_family/sin_port/sin_addr, AF_INET6 sa_family/sin6_port/sin6_flowinfo/sin6_addr/
    sin6_scopeid, AF_UNIX sa_family/sun_path ("@name" for abstract sockets); any other family
    gives {"sa_family": "AF_UNSPEC"}. Raises ValueError for anything else.
    """
    if isinstance(value, dict):
        return _sockaddr_from_map(value)
    if isinstance(value, str):
        return _sockaddr_from_text(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _sockaddr_from_raw(bytes(value))
    raise ValueError(f"sockaddr: cannot decode a {type(value).__name__}")


def sockaddr_ip_port(value: Any) -> tuple[str, str]:
    """(address, port) of an AF_INET/AF_INET6 sockaddr; ("", "") for other families."""
    addr = sockaddr(value)
    family = addr.get("sa_family")
    if family == "AF_INET":
        return addr.get("sin_addr", ""), addr.get("sin_port", "")
    if family == "AF_INET6":
        return addr.get("sin6_addr", ""), addr.get("sin6_port", "")
    return "", ""


# -- syscalls and pointers --------------------------------------------------------------------------
# The x86-64 numbers and names come from the catalog (its syscall events, less the 32-bit-only
# ones it numbers from 3000); the kernel has added these since Tracee v0.8.3.
_SYSCALLS_AFTER_V083 = {449: "futex_waitv", 450: "set_mempolicy_home_node"}
_SYSCALL_NAMES: dict[int, str] = {}


def _syscall_names() -> dict[int, str]:
    # Built at the first call, so importing the decoders does not load the catalog.
    from .catalog import EVENTS

    _SYSCALL_NAMES.update({e.id: e.name for e in EVENTS if e.syscall and "32bit_unique" not in e.sets})
    _SYSCALL_NAMES.update(_SYSCALLS_AFTER_V083)
    return _SYSCALL_NAMES


def syscall_name(nr: int | str) -> str:
    """The x86_64 syscall called `nr`, e.g. 59 -> "execve"; unknown numbers print as decimal."""
    if isinstance(nr, str):
        return nr
    return (_SYSCALL_NAMES or _syscall_names()).get(nr) or str(nr)


def hex_pointer(v: int | str) -> str:
    """A pointer as Tracee v0.8 prints it: "0x" + lower-case hex (64-bit), e.g. "0x7f6f1eb44b83"."""
    if isinstance(v, str):
        return v
    return f"0x{v & _U64:x}"


# -- parse-arguments --------------------------------------------------------------------------------
# (event name, argument name) -> decoder, as Tracee's parse-arguments applies them; `arg_parser`
# is the rule built on it, which the eBPF input's record decoder and `parse_args` both follow.
# Parsed values get type "string" (Tracee >= 0.7), except the `syscall` argument, which Tracee
# v0.8 prints with its declared type kept (`{"name":"syscall","type":"int","value":"execve"}`).
# security_sb_mount's flags are left raw, as Tracee leaves them.
PARSERS: dict[tuple[str, str], Callable[[Any], str]] = {
    ("security_file_open", "flags"): open_flags,
    ("open", "flags"): open_flags,
    ("openat", "flags"): open_flags,
    ("ptrace", "request"): ptrace_request,
    ("mmap", "prot"): prot,
    ("mprotect", "prot"): prot,
    ("pkey_mprotect", "prot"): prot,
    ("security_file_mprotect", "prot"): prot,
    ("security_mmap_file", "prot"): prot,
    ("mem_prot_alert", "alert"): mem_prot_alert,
    ("security_kernel_read_file", "type"): kernel_read_file_type,
    ("security_kernel_post_read_file", "type"): kernel_read_file_type,
    ("clone", "flags"): clone_flags,
    ("socket", "domain"): socket_domain,
    ("socket", "type"): socket_type,
    ("security_socket_create", "family"): socket_domain,
    ("security_socket_create", "type"): socket_type,
    ("sched_process_exec", "stdin_type"): stdin_type,
    ("access", "mode"): access_mode,
    ("faccessat", "mode"): access_mode,
    ("cap_capable", "cap"): capability,
    ("chmod", "mode"): inode_mode,
    ("fchmod", "mode"): inode_mode,
    ("fchmodat", "mode"): inode_mode,
    ("mknod", "mode"): inode_mode,
    ("mknodat", "mode"): inode_mode,
    ("security_inode_mknod", "mode"): inode_mode,
    ("dirty_pipe_splice", "in_file_type"): inode_mode,
}
_SYSCALL_ARG_EVENTS = ("security_file_open", "sys_enter", "sys_exit", "cap_capable",
                       "commit_creds", "task_rename", "security_mmap_file")
_KEEPS_TYPE = frozenset((event, "syscall") for event in _SYSCALL_ARG_EVENTS)
PARSERS.update(dict.fromkeys(_KEEPS_TYPE, syscall_name))

# Declared pointer types that Tracee reads as strings, string arrays and socket addresses (text,
# lists, maps); every other pointer type is an address, printed in hex.
_NOT_ADDRESSES = frozenset(("const char*", "const char *", "const char**", "const char*const*",
                            "struct sockaddr*", "struct sockaddr *"))


def arg_parser(event_name: str, arg_name: str, arg_type: str) -> tuple[Callable[[Any], Any] | None, str]:
    """How parse-arguments prints an integer argument: (its decoder or None, the type it is printed with).

    The decoder is the one `PARSERS` names (printed type "string", or the declared type for
    `syscall`), else `hex_pointer` for a declared pointer that is an address, else None (the
    value stays raw, with its declared type).
    """
    parser = PARSERS.get((event_name, arg_name))
    if parser is not None:
        return parser, arg_type if (event_name, arg_name) in _KEEPS_TYPE else "string"
    if arg_type.endswith("*") and arg_type not in _NOT_ADDRESSES:
        return hex_pointer, arg_type
    return None, arg_type


def parse_args(event_name: str, args: list[dict]) -> None:
    """Rewrite `args` in place as Tracee's parse-arguments does (see `arg_parser`).

    Only int values are rewritten: values that are already parsed, strings, maps or lists are
    left alone.
    """
    for arg in args:
        value = arg.get("value")
        if type(value) is not int:
            continue
        name, declared = arg.get("name"), str(arg.get("type", ""))
        parser, printed_type = arg_parser(event_name, name, declared)  # type: ignore[arg-type]
        if parser is not None:
            arg["value"] = parser(value)
            arg["type"] = printed_type
