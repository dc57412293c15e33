"""CPU time of the benchmark's processes, from /proc: a figure that stays meaningful on a busy, shared machine.

Throughput moves with whatever else the machine runs; the CPU-seconds each process spends per 1,000
deliveries hardly does, so the bench reports both.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of `pid` and its threads (None once the process is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # After the command name: state is field 3, utime and stime are fields 14 and 15 of proc(5).
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU-seconds of the whole machine since boot, summed over every core."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle and iowait
    total = sum(values[:8])  # without guest time, already counted in user
    return (total - idle) / TICKS, total / TICKS


@dataclass
class CpuWindow:
    """CPU-seconds per named process, and of the whole machine, between `start()` and `stop()`."""

    pids: dict[str, int]

    def start(self) -> None:
        self._begin = {name: process_cpu_seconds(pid) for name, pid in self.pids.items()}
        self._machine_begin = machine_busy_seconds()

    def stop(self) -> dict[str, float]:
        """CPU-seconds per process in the window, plus `machine_busy` and `machine_total` (every core)."""
        used: dict[str, float] = {}
        for name, pid in self.pids.items():
            begin, end = self._begin.get(name), process_cpu_seconds(pid)
            if begin is not None and end is not None:
                used[name] = end - begin
        busy, total = machine_busy_seconds()
        used["machine_busy"] = busy - self._machine_begin[0]
        used["machine_total"] = total - self._machine_begin[1]
        return used


def per_thousand(used: dict[str, float], deliveries: float) -> dict[str, float]:
    """CPU-seconds per 1,000 deliveries per process; `others` is what the rest of the machine used meanwhile."""
    if deliveries <= 0:
        return {}
    ours = sum(v for k, v in used.items() if not k.startswith("machine_"))
    table = {k: v * 1000 / deliveries for k, v in used.items() if not k.startswith("machine_")}
    table["all_bench_processes"] = ours * 1000 / deliveries
    table["others_on_machine"] = max(0.0, used["machine_busy"] - ours) * 1000 / deliveries
    return table
