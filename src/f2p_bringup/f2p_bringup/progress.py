"""Progress bars with an ETA for long jobs (tqdm) and results files, shared by every subcommand."""

from __future__ import annotations

import json
import pathlib
import time
from collections.abc import Callable

from tqdm import tqdm


def progress_callback(desc: str, unit: str = "it") -> tuple[Callable[..., None], Callable[[], None]]:
    """A ``progress(done, total, message="")`` callback that drives one tqdm bar (ETA from the step
    rate, the message as its postfix), and a function closing it."""
    bar: list[tqdm] = []

    def update(done: int, total: int, message: str = "") -> None:
        if not bar:
            bar.append(tqdm(total=total, initial=done, desc=desc, unit=unit, dynamic_ncols=True))
        bar[0].total = total
        if message:
            bar[0].set_postfix_str(message, refresh=False)
        bar[0].update(done - bar[0].n)

    def close() -> None:
        if bar:
            bar[0].close()

    return update, close


def write_results(path: str | pathlib.Path, command: str, payload: dict) -> pathlib.Path:
    """A results file: the command that reproduces it, when it ran, and the figures."""
    out = pathlib.Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"command": command, "date": time.strftime("%Y-%m-%d %H:%M:%S %z"), **payload},
                              indent=1) + "\n")
    return out
