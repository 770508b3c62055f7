"""What the eBPF input needs from the machine: root, BCC, tracefs, kernel headers; checks and fixes.

Used by the input at start (automatic set-up) and by `tracee doctor [--fix]`. Nothing here imports
bcc at module import time, so `tracee list` works on machines without it.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from . import btf_headers

__all__ = ["APT_PACKAGES", "Check", "SetupError", "checks", "ensure_ready", "fix", "import_bcc",
           "not_usable_reason"]

# Debian's BCC (0.26): libbcc + the pure-Python `bcc` package. PyPI's "bcc" is an unrelated project.
DEBIAN_BCC = Path("/usr/lib/python3/dist-packages/bcc")
APT_PACKAGES = ("python3-bpfcc", "bpftool")
TRACEFS = Path("/sys/kernel/tracing")
DEBUGFS_TRACING = Path("/sys/kernel/debug/tracing")
ROOT_HINT = "needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN): run with sudo"
BCC_HINT = "BCC not found: run `tracee doctor --fix` (installs python3-bpfcc and bpftool)"


class SetupError(RuntimeError):
    """The machine is not ready and could not be made ready; the message is one actionable line."""


# -- BCC ----------------------------------------------------------------------------------------------
def _bcc_spec_available() -> bool:
    return importlib.util.find_spec("bcc") is not None


def bcc_location() -> Path | None:
    """Where `import bcc` would load from: this interpreter's path, else Debian's directory."""
    spec = importlib.util.find_spec("bcc")
    if spec is not None and spec.origin:
        return Path(spec.origin).parent
    return DEBIAN_BCC if (DEBIAN_BCC / "__init__.py").is_file() else None


def import_bcc() -> ModuleType:
    """Import `bcc`: from this interpreter's path if it is there, else straight from Debian's
    python3-bpfcc directory (pure Python over ctypes, so any Python 3 can load it). Call only after
    BCC_KERNEL_SOURCE is set: BCC reads it when it compiles."""
    if "bcc" in sys.modules:
        return sys.modules["bcc"]
    if _bcc_spec_available():
        import bcc  # type: ignore[import-not-found]
        return bcc
    init = DEBIAN_BCC / "__init__.py"
    if not init.is_file():
        raise SetupError(BCC_HINT)
    spec = importlib.util.spec_from_file_location("bcc", init, submodule_search_locations=[str(DEBIAN_BCC)])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bcc"] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # libbcc.so missing or broken: say what to do
        del sys.modules["bcc"]
        raise SetupError(f"BCC cannot be loaded ({type(exc).__name__}: {exc}): "
                         "run `tracee doctor --fix`") from None
    return module


def link_bcc() -> Path | None:
    """Make this interpreter import Debian's bcc with a symlink in its site-packages. Returns the
    link, or None when nothing was needed."""
    if _bcc_spec_available():
        return None
    if not (DEBIAN_BCC / "__init__.py").is_file():
        raise SetupError(BCC_HINT)
    site = Path(sysconfig.get_paths()["purelib"])
    link = site / "bcc"
    if link.is_symlink():
        link.unlink()
    link.symlink_to(DEBIAN_BCC)
    importlib.invalidate_caches()
    return link


# -- tracefs ------------------------------------------------------------------------------------------
def tracefs_path() -> Path | None:
    for path in (TRACEFS, DEBUGFS_TRACING):
        if (path / "events").is_dir():
            return path
    return None


def mount_tracefs() -> Path:
    """Mount tracefs at /sys/kernel/tracing (BCC reads tracepoint ids and formats there)."""
    found = tracefs_path()
    if found:
        return found
    result = subprocess.run(["mount", "-t", "tracefs", "nodev", str(TRACEFS)], capture_output=True, text=True)
    if result.returncode != 0 or tracefs_path() is None:
        raise SetupError(f"cannot mount tracefs at {TRACEFS}: {result.stderr.strip() or 'unknown error'}; "
                         "mount it (`mount -t tracefs nodev /sys/kernel/tracing`) or run as root")
    return TRACEFS


# -- readiness ----------------------------------------------------------------------------------------
def is_root() -> bool:
    return os.geteuid() == 0


def not_usable_reason() -> str | None:
    """None when the input can start (possibly after automatic set-up), else one actionable line.
    Cheap: no compile, no bcc import."""
    if not is_root():
        return ROOT_HINT
    if bcc_location() is None:
        return BCC_HINT
    if not btf_headers.kernel_has_headers() and not btf_headers.BTF_PATH.is_file():
        return ("no kernel headers and no BTF (/sys/kernel/btf/vmlinux): install the headers "
                f"package for kernel {platform.release()}")
    if (not btf_headers.kernel_has_headers() and btf_headers.cached_header_dir() is None
            and shutil.which("bpftool") is None and not os.access("/usr/sbin/bpftool", os.X_OK)):
        return "bpftool not found (needed once to build kernel headers from BTF): run `tracee doctor --fix`"
    return None


def ensure_ready(log=None) -> ModuleType:
    """Automatic set-up at input start: mount tracefs, build/find the header cache, set
    BCC_KERNEL_SOURCE, import bcc. Returns the bcc module; raises SetupError with one line."""
    why = not_usable_reason()
    if why:
        raise SetupError(why)
    mount_tracefs()
    if "BCC_KERNEL_SOURCE" not in os.environ:
        cached = btf_headers.cached_header_dir()
        if cached is None and not btf_headers.kernel_has_headers():
            if log:
                log("building kernel headers from BTF (once per kernel; ~5 s)")
            try:
                cached = btf_headers.build_header_dir()
            except (btf_headers.HeaderError, OSError) as exc:
                raise SetupError(str(exc)) from None
        if cached is not None:
            os.environ["BCC_KERNEL_SOURCE"] = str(cached)
    return import_bcc()


# -- doctor ---------------------------------------------------------------------------------------------
@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fixable: bool = False  # `tracee doctor --fix` can fix it
    required: bool = True  # False: an optional extra (kprobes, LSM)


def _kernel_config() -> dict[str, str]:
    import gzip

    try:
        with gzip.open("/proc/config.gz", "rt") as f:
            return dict(line.split("=", 1) for line in f.read().splitlines() if line.startswith("CONFIG_"))
    except OSError:
        return {}


def checks() -> list[Check]:
    """Everything the doctor reports, in the order a user would fix it."""
    out: list[Check] = []
    root = is_root()
    out.append(Check("root", root, "running as root" if root else ROOT_HINT))
    release = platform.release()
    major_minor = tuple(int(x) for x in release.split(".")[:2] if x.isdigit())
    out.append(Check("kernel", major_minor >= (5, 8), f"Linux {release}"
                     + ("" if major_minor >= (5, 8) else ": needs 5.8 or later (bpf ring/perf helpers, BTF)")))
    btf = btf_headers.BTF_PATH.is_file()
    out.append(Check("btf", btf, str(btf_headers.BTF_PATH) if btf else
                     f"{btf_headers.BTF_PATH} missing (kernel built without CONFIG_DEBUG_INFO_BTF)",
                     required=not btf_headers.kernel_has_headers()))
    tfs = tracefs_path()
    out.append(Check("tracefs", tfs is not None, f"mounted at {tfs}" if tfs else
                     f"not mounted: `mount -t tracefs nodev {TRACEFS}`", fixable=True))
    loc = bcc_location()
    if loc is None:
        out.append(Check("bcc", False, BCC_HINT, fixable=True))
    else:
        linked = _bcc_spec_available()
        out.append(Check("bcc", True, f"{loc}" + ("" if linked else
                         f" (loaded directly; `tracee doctor --fix` links it into {sys.prefix})")))
    tool = shutil.which("bpftool") or ("/usr/sbin/bpftool" if os.access("/usr/sbin/bpftool", os.X_OK) else None)
    out.append(Check("bpftool", tool is not None, tool or "missing: `apt-get install bpftool`",
                     fixable=True, required=not btf_headers.kernel_has_headers()))
    if btf_headers.kernel_has_headers():
        out.append(Check("headers", True, f"/lib/modules/{release}/build (distribution headers)"))
    else:
        cached = btf_headers.cached_header_dir() if btf else None
        out.append(Check("headers", cached is not None,
                         f"built from BTF: {cached}" if cached else
                         "no kernel headers; the BTF-derived header cache is not built yet "
                         "(built automatically at first start, or by `tracee doctor --fix`)",
                         fixable=btf, required=False))
    config = _kernel_config()
    kprobes = config.get("CONFIG_KPROBES") == "y"
    out.append(Check("kprobes", kprobes, "available (not needed)" if kprobes else
                     "not available (CONFIG_KPROBES off): events come from tracepoints instead",
                     required=False))
    lsm = "bpf" in config.get("CONFIG_LSM", "").strip('"').split(",")
    out.append(Check("bpf-lsm", lsm, "bpf in CONFIG_LSM; not used (events come from tracepoints)" if lsm else
                     "not in CONFIG_LSM: security_* events are derived from tracepoints instead",
                     required=False))
    return out


def fix(log) -> list[str]:
    """Install and set up what is missing. Returns the problems that remain (empty = ready)."""
    problems: list[str] = []
    if not is_root():
        return [ROOT_HINT]
    missing = []
    if bcc_location() is None:
        missing.append("python3-bpfcc")
    if shutil.which("bpftool") is None and not os.access("/usr/sbin/bpftool", os.X_OK) \
            and not btf_headers.kernel_has_headers():
        missing.append("bpftool")
    if missing:
        apt = shutil.which("apt-get")
        if apt is None:
            problems.append(f"install {' and '.join(missing)} with your package manager (no apt-get here)")
        else:
            log(f"installing {' '.join(missing)} with apt-get")
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            subprocess.run([apt, "update", "-qq"], env=env, check=False)
            result = subprocess.run([apt, "install", "-y", "-qq", "--no-install-recommends", *missing], env=env)
            if result.returncode != 0:
                problems.append(f"apt-get install {' '.join(missing)} failed (exit {result.returncode})")
    for step, action in (("tracefs", mount_tracefs), ("bcc link", link_bcc)):
        try:
            done = action()
            if step == "bcc link" and done:
                log(f"linked {done} -> {DEBIAN_BCC}")
        except SetupError as exc:
            problems.append(str(exc))
    if not btf_headers.kernel_has_headers() and btf_headers.BTF_PATH.is_file():
        if btf_headers.cached_header_dir() is None:
            log("building kernel headers from BTF")
            try:
                log(f"header cache: {btf_headers.build_header_dir()}")
            except (btf_headers.HeaderError, OSError) as exc:
                problems.append(str(exc))
    return problems
