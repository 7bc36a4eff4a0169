"""What the benchmarks ran on, for the first line of their tables."""

from __future__ import annotations

import os
import platform


def cpu_description() -> str:
    """The CPU model (from /proc/cpuinfo where there is one) and the cores this process may use."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cpu}, {cores} cores"
