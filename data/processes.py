"""Which process is this, and is another one of this host still alive: for leftovers of killed processes."""

from __future__ import annotations

import hashlib
import os
import socket


def this_host() -> str:
    """The host name plus the pid namespace, so a pid is only ever compared within the namespace it names."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return f"{socket.gethostname()} {namespace}".strip()[:300]


def host_tag() -> str:
    """`this_host` as 8 hex characters, short enough for file names."""
    return hashlib.sha256(this_host().encode()).hexdigest()[:8]


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` of this host exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    except OverflowError:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True
