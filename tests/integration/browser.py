"""A page opened in a real headless browser (Debian's chromium-headless-shell, installed by
scripts/setup.sh): how many of its images loaded, and a screenshot to look at."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

BROWSERS = ("chromium-headless-shell", "chromium", "chromium-browser")
FLAGS = ["--no-sandbox", "--disable-gpu", "--allow-file-access-from-files", "--hide-scrollbars"]


def browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    raise AssertionError(f"no headless Chromium ({', '.join(BROWSERS)}): run ./scripts/setup.sh as root "
                         "(apt-get install chromium-headless-shell)")


def images_loaded(page: Path, timeout_s: float = 60.0) -> tuple[int, int]:
    """(images on the page, images that loaded), as the page's own load script counted them."""
    out = subprocess.run([browser(), *FLAGS, "--virtual-time-budget=5000", "--dump-dom", page.resolve().as_uri()],
                         capture_output=True, text=True, timeout=timeout_s, check=True).stdout
    body = re.search(r"<body[^>]*>", out)
    assert body, f"no <body> in the page Chromium rendered:\n{out[:2000]}"
    counts = dict(re.findall(r'data-(images|loaded)="(\d+)"', body.group(0)))
    assert set(counts) == {"images", "loaded"}, f"the page's load script did not run: {body.group(0)}"
    return int(counts["images"]), int(counts["loaded"])


def screenshot(page: Path, out: Path, width: int = 1300, height: int = 2400, timeout_s: float = 60.0) -> Path:
    subprocess.run([browser(), *FLAGS, f"--screenshot={out}", f"--window-size={width},{height}",
                    page.resolve().as_uri()], capture_output=True, timeout=timeout_s, check=True)
    return out
