"""Process settings of f2p_model.runtime."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt settings are glibc's")
def test_retain_freed_memory_is_taken_by_glibc():
    # in a fresh process: the settings are process-wide and would leak into the other tests
    code = "from f2p_model.runtime import retain_freed_memory; import sys; sys.exit(0 if retain_freed_memory() else 1)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
