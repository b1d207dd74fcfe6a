"""Benchmarks: one script per capability (run them as scripts: python bench/NAME.py).

Here: what several of them read from /proc, a process's CPU time and resident memory
(their own, or that of a peer they started: sshd, the bastion, an snmpsim agent).
"""

from __future__ import annotations

import os
from pathlib import Path


def cpu_seconds(pid: int | str = "self", children: bool = False) -> float:
    """The CPU time of a process (user + system), or of its reaped children."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # after the name: state is field 0, utime 11, stime 12, cutime 13, cstime 14
    first = 13 if children else 11
    return (int(fields[first]) + int(fields[first + 1])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int | str = "self") -> int:
    """A process's resident memory (VmRSS) in KiB; 0 when the kernel does not say."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0
