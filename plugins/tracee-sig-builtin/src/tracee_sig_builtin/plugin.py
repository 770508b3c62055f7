"""Entry point of the pack: registers TRC-1 ... TRC-15 with tracee (fresh instances per call)."""

from __future__ import annotations

from typing import Callable

from tracee import Signature, hookimpl

from .anti_debugging import AntiDebugging
from .cgroup_release_agent import CgroupReleaseAgent
from .code_injection import CodeInjection
from .disk_mount import DiskMount
from .dropped_executable import DroppedExecutable
from .dynamic_code_loading import DynamicCodeLoading
from .fileless_execution import FilelessExecution
from .illegitimate_shell import IllegitimateShell
from .k8s_api_connection import K8sApiConnection
from .k8s_cert_theft import K8sCertTheft
from .k8s_service_account_token import K8sServiceAccountToken
from .kernel_module_loading import KernelModuleLoading
from .ld_preload import LdPreload
from .stdio_over_socket import StdioOverSocket
from .syscall_hooking import SyscallHooking

# Tracee's load order (v0.7 list plus TRC-15): its two Go signatures first, then the Rego files in
# directory-walk order. Kept so `tracee list` and the order of findings on one event match Tracee.
SIGNATURES: tuple[type[Signature], ...] = (
    StdioOverSocket,        # TRC-1
    K8sApiConnection,       # TRC-13
    AntiDebugging,          # TRC-2
    CgroupReleaseAgent,     # TRC-14
    CodeInjection,          # TRC-3
    DiskMount,              # TRC-11
    DroppedExecutable,      # TRC-9
    DynamicCodeLoading,     # TRC-4
    FilelessExecution,      # TRC-5
    IllegitimateShell,      # TRC-12
    K8sServiceAccountToken,  # TRC-8
    KernelModuleLoading,    # TRC-6
    K8sCertTheft,           # TRC-10
    LdPreload,              # TRC-7
    SyscallHooking,         # TRC-15
)


@hookimpl
def tracee_register_signatures(register: Callable[[Signature], None]) -> None:
    # New objects every call: TRC-1 and TRC-13 keep state that must not leak between runs.
    for cls in SIGNATURES:
        register(cls())
