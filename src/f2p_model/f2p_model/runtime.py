"""Process settings for torch work on the CPU, applied once by each entry point (the `f2p` command,
the learner and planner nodes).

`retain_freed_memory`: torch frees and re-allocates the same tens-of-MB tensors on every SVGD
iteration and training step (the first PointConv layer of 20 particles x 6 segments makes 15-31 MB
tensors). glibc serves blocks that large with mmap, or trims them off the heap top when freed, so
each iteration faults the memory in again and the kernel zeroes it. Keeping freed memory in the heap
for reuse cut the system time of 8 state + action inferences of the demo's failure from 3.4 s to
0.8 s (`/usr/bin/time`, 2 threads); the process keeps its peak heap instead of returning it to the
OS. The same two settings as the environment variables MALLOC_MMAP_THRESHOLD_=33554432
MALLOC_TRIM_THRESHOLD_=1073741824; setting only the trim threshold disables glibc's dynamic mmap
threshold and is far worse (26 s of system time).
"""

from __future__ import annotations

import ctypes
import logging

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1  # glibc <malloc.h>
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # the ceiling of glibc's dynamic threshold on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX)
TRIM_THRESHOLD = 1 << 30


def retain_freed_memory() -> bool:
    """Serve blocks up to 32 MiB from the heap and keep up to 1 GiB of freed heap memory for reuse
    (module docstring). True if the C library took both settings; False elsewhere (not glibc), where
    nothing changes."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        log.debug("no mallopt in this C library: allocator settings left alone")
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


__all__ = ["retain_freed_memory"]
