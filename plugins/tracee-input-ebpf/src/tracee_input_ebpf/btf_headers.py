"""Builds (and caches) the kernel header directory BCC needs, from the running kernel's BTF.

Kernels without a headers package (no /lib/modules/<release>/build) still describe every struct
in /sys/kernel/btf/vmlinux. `bpftool btf dump ... format c` turns that into one vmlinux.h; this
module fixes the two layout bugs that otherwise shift struct reads silently, adds the few headers
BCC's helpers.h includes, and stores the result under
/var/cache/tracee/btf-<release>-<BTF sha256 prefix>. A changed BTF (new kernel build with the same
release string) gives a new directory. Pass the directory to BCC as BCC_KERNEL_SOURCE.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import os
import platform
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["BTF_PATH", "CACHE_ROOT", "HeaderError", "build_header_dir", "cached_header_dir",
           "fix_vmlinux_h", "header_dir_for_kernel", "kernel_has_headers"]

BTF_PATH = Path("/sys/kernel/btf/vmlinux")
CACHE_ROOT = Path(os.environ.get("TRACEE_CACHE_DIR", "/var/cache/tracee"))
# Bump when the generated files change, so caches built by older versions are rebuilt.
_BUILDER_VERSION = "1"
_STAMP = ".complete"


class HeaderError(RuntimeError):
    """The header directory cannot be built; the message says what to install or fix."""


def kernel_has_headers(release: str | None = None) -> bool:
    """True when the distribution's headers for this kernel are installed (BCC finds them itself)."""
    release = release or platform.release()
    return Path(f"/lib/modules/{release}/build/include").is_dir()


def _btf_digest() -> str:
    h = hashlib.sha256()
    with open(BTF_PATH, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    h.update(_BUILDER_VERSION.encode())
    return h.hexdigest()[:16]


def cached_header_dir(release: str | None = None) -> Path | None:
    """The cache directory for the running kernel's BTF if it exists and is complete, else None."""
    if not BTF_PATH.is_file():
        return None
    path = CACHE_ROOT / f"btf-{release or platform.release()}-{_btf_digest()}"
    return path if (path / _STAMP).is_file() else None


def header_dir_for_kernel(*, build: bool = True) -> Path | None:
    """Where BCC should look for kernel headers: None when the distribution's headers are
    installed (BCC's default works), else the BTF-derived cache (built now if `build`)."""
    if kernel_has_headers():
        return None
    cached = cached_header_dir()
    if cached is not None or not build:
        return cached
    return build_header_dir()


# -- the two layout fixes -----------------------------------------------------------------------------
_PADDING = re.compile(r"^(\s+)long: 64;$", re.M)
_SMALL_ENUM = re.compile(r"^\[\d+\] ENUM(?:64)? '(\w+)' encoding=\w+ size=[12] ", re.M)


def fix_vmlinux_h(vmlinux_h: str, raw_btf_dump: str) -> str:
    """Apply both layout fixes to bpftool's C dump (pure function, tested on a small sample).

    1. BCC 0.26's clang 14 merges runs of `long: 64;` padding into one integer that the BPF data
       layout aligns to 16 bytes, shifting every later field (mm_struct.arg_start read env_start).
       A zero-width `long: 0;` after each one keeps the fields apart.
    2. bpftool 7.1 prints 1- and 2-byte BTF enums (enum rw_hint in struct inode) as 4-byte enums;
       marking them `packed` gives them their BTF size back.
    """
    text = _PADDING.sub(r"\1long: 64;\n\1long: 0;", vmlinux_h)
    for name in sorted(set(_SMALL_ENUM.findall(raw_btf_dump))):
        text = re.sub(r"(^enum %s \{.*?^\});" % re.escape(name), r"\1 __attribute__((packed));",
                      text, count=1, flags=re.M | re.S)
    return text


# -- BCC's own copy of uapi/linux/bpf.h ----------------------------------------------------------------
def _libbcc_path() -> Path:
    for pattern in ("/usr/lib/*/libbcc.so.0.*", "/usr/lib/libbcc.so.0.*", "/usr/lib64/libbcc.so.0.*",
                    "/usr/lib/*/libbcc.so.0", "/usr/lib64/libbcc.so.0"):
        found = sorted(glob.glob(pattern))
        if found:
            return Path(found[0])
    raise HeaderError("libbcc not found: install python3-bpfcc (run `tracee doctor --fix`)")


def _declared_names(src: str) -> set[str]:
    src = re.sub(r"/\*.*?\*/", "", src, flags=re.S)
    src = re.sub(r"//[^\n]*", "", src)
    src = re.sub(r"^\s*#.*$", "", src, flags=re.M)
    out = set(re.findall(r"\b(?:struct|union|enum)\s+(\w+)\s*\{", src))
    for body in re.findall(r"\benum\b[^{;]*\{(.*?)\}", src, flags=re.S):
        out |= {m.group(1) for m in (re.match(r"\s*([A-Za-z_]\w*)", x) for x in body.split(",")) if m}
    return out


def _rename_headers(libbcc: Path, vmlinux_h: str) -> tuple[str, str]:
    """BCC force-includes its embedded uapi/linux/bpf.h, which redefines types vmlinux.h has.
    Rename BCC's duplicates while that header is parsed (macros on, then off)."""
    data = libbcc.read_bytes()
    i = data.find(b"#ifndef _UAPI__LINUX_BPF_H__")
    if i < 0:
        raise HeaderError(f"{libbcc}: embedded bpf.h not found (unsupported BCC build)")
    embedded = data[data.rfind(b"\0", 0, i) + 1:data.find(b"\0", i)].decode("utf-8", "replace")
    common = _declared_names(embedded) & _declared_names(vmlinux_h)
    for tag, body in re.findall(r"\benum\s+(\w+)\s*\{(.*?)\}", vmlinux_h, flags=re.S):
        if tag in common:  # BPF_FUNC_* names are pasted with ## inside BCC's header
            common |= {m.group(1) for m in (re.match(r"\s*([A-Za-z_]\w*)", x) for x in body.split(",")) if m}
    names = sorted(common)
    return ("".join(f"#define {n} __bcc_vbpf_{n}\n" for n in names),
            "".join(f"#undef {n}\n" for n in names))


def _autoconf() -> str:
    """CONFIG_* of the running kernel as #defines (helpers.h tests a few of them)."""
    try:
        with gzip.open("/proc/config.gz", "rt") as f:
            lines = f.read().splitlines()
    except OSError:
        return ("#define CONFIG_BPF_SYSCALL 1\n#define CONFIG_FUNCTION_TRACER 1\n"
                "#define CONFIG_ARCH_HAS_SYSCALL_WRAPPER 1\n")
    out = []
    for line in lines:
        m = re.match(r"^(CONFIG_[A-Za-z0-9_]+)=(.*)$", line)
        if not m:
            continue
        name, value = m.groups()
        if value == "y":
            out.append(f"#define {name} 1")
        elif value == "m":
            out.append(f"#define {name}_MODULE 1")
        elif re.fullmatch(r'".*"|-?[0-9]+|0x[0-9a-fA-F]+', value):
            out.append(f"#define {name} {value}")
    return "\n".join(out) + "\n"


_TYPES_H = """\
#ifndef __TRACEE_SHIM_TYPES_H
#define __TRACEE_SHIM_TYPES_H
#define BPF_NO_PRESERVE_ACCESS_INDEX
#include <bcc_vmlinux.h>
#include <bcc_vbpf_rename.h>
#define __aligned_u64 __u64 __attribute__((aligned(8)))
#define __aligned_be64 __be64 __attribute__((aligned(8)))
#define __aligned_le64 __le64 __attribute__((aligned(8)))
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#endif
"""
_BPF_H = """\
#ifndef __TRACEE_SHIM_BPF_H
#define __TRACEE_SHIM_BPF_H
#include <bcc_vbpf_unrename.h>
#ifndef NULL
#define NULL ((void *)0)
#endif
#define EPERM 1
#define ENOENT 2
#define ENOMEM 12
#define EACCES 13
#define EFAULT 14
#define EINVAL 22
#define PERF_MAX_STACK_DEPTH 127
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#endif
"""


def _version_h(release: str) -> str:
    m = re.match(r"^(\d+)\.(\d+)(?:\.(\d+))?", release)
    major, minor, patch = (int(x or 0) for x in m.groups()) if m else (0, 0, 0)
    code = (major << 16) + (minor << 8) + min(patch, 255)
    return ("#define KERNEL_VERSION(a,b,c) (((a) << 16) + ((b) << 8) + ((c) > 255 ? 255 : (c)))\n"
            f"#define LINUX_VERSION_CODE {code}\n")


def build_header_dir(dest: Path | None = None, *, bpftool: str | None = None) -> Path:
    """Generate the header directory for the running kernel and return it.

    Written to a temporary directory beside the destination and renamed into place, so a
    concurrent reader never sees a half-written cache.
    """
    if not BTF_PATH.is_file():
        raise HeaderError(f"{BTF_PATH} is missing: this kernel was built without BTF "
                          "(CONFIG_DEBUG_INFO_BTF); install the kernel's headers package instead")
    tool = bpftool or shutil.which("bpftool") or next(
        (p for p in ("/usr/sbin/bpftool", "/sbin/bpftool") if os.access(p, os.X_OK)), None)
    if tool is None:
        raise HeaderError("bpftool not found: install it (`apt-get install bpftool`, "
                          "or run `tracee doctor --fix`)")
    release = platform.release()
    dest = dest or CACHE_ROOT / f"btf-{release}-{_btf_digest()}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        c_dump = subprocess.run([tool, "btf", "dump", "file", str(BTF_PATH), "format", "c"],
                                capture_output=True, text=True, check=True).stdout
        raw_dump = subprocess.run([tool, "btf", "dump", "file", str(BTF_PATH)],
                                  capture_output=True, text=True, check=True).stdout
    except subprocess.CalledProcessError as exc:
        raise HeaderError(f"bpftool btf dump failed: {exc.stderr.strip()[:200]}") from None
    vmlinux_h = fix_vmlinux_h(c_dump, raw_dump)
    rename, unrename = _rename_headers(_libbcc_path(), vmlinux_h)

    tmp = Path(tempfile.mkdtemp(prefix=dest.name + ".", dir=dest.parent))
    try:
        inc = tmp / "include"
        for sub in ("linux", "uapi/linux", "generated"):
            (inc / sub).mkdir(parents=True)
        (tmp / "arch/x86/include/asm").mkdir(parents=True)
        files = {
            inc / "bcc_vmlinux.h": vmlinux_h,
            inc / "bcc_vbpf_rename.h": rename,
            inc / "bcc_vbpf_unrename.h": unrename,
            inc / "generated/autoconf.h": _autoconf(),
            inc / "linux/kconfig.h": "#include <generated/autoconf.h>\n",
            # The first header BCC parses (from its bpf.h): load vmlinux.h, start renaming.
            inc / "linux/types.h": _TYPES_H,
            inc / "linux/bpf_common.h": "",
            # helpers.h includes <uapi/linux/bpf.h> next: stop renaming, add plain macros.
            inc / "uapi/linux/bpf.h": _BPF_H,
            inc / "uapi/linux/if_packet.h": "",
            inc / "linux/log2.h": "",
            inc / "linux/version.h": _version_h(release),
            tmp / "arch/x86/include/asm/page.h": "#define PAGE_SHIFT 12\n#define PAGE_SIZE (1UL << PAGE_SHIFT)\n",
        }
        for path, text in files.items():
            path.write_text(text)
        (tmp / _STAMP).write_text(f"kernel {release}\nbuilder {_BUILDER_VERSION}\n")
        os.chmod(tmp, 0o755)
        if dest.exists():
            shutil.rmtree(dest)
        os.rename(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest
