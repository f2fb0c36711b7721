"""Resident memory of a benchmark process, read from /proc where there is one.

The peak is ``VmHWM``: ``ru_maxrss`` survives ``exec`` on Linux, so a process started from a
large parent would report the parent's size at the fork.
"""

from __future__ import annotations

import resource


def status_mib(field: str) -> float:
    """A ``/proc/self/status`` field (kB) in MiB; NaN where there is none."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(field):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def peak_rss_mib() -> float:
    """This process's peak resident memory so far (VmHWM; ``ru_maxrss`` without /proc)."""
    peak = status_mib("VmHWM:")
    if peak == peak:  # not NaN
        return peak
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mib() -> float:
    """This process's resident memory now (VmRSS), MiB."""
    return status_mib("VmRSS:")


def children_peak_rss_mib() -> float:
    """The largest peak resident memory of this process's finished children, MiB."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
