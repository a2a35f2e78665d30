"""Progress bars with an ETA for long jobs (tqdm), shared by every subcommand."""

from __future__ import annotations

from collections.abc import Callable

from tqdm import tqdm


def progress_callback(desc: str, unit: str = "it") -> tuple[Callable[[int, int], None], Callable[[], None]]:
    """A ``progress(done, total)`` callback that drives one tqdm bar, and a function closing it."""
    bar: list[tqdm] = []

    def update(done: int, total: int) -> None:
        if not bar:
            bar.append(tqdm(total=total, initial=done, desc=desc, unit=unit, dynamic_ncols=True))
        bar[0].update(done - bar[0].n)

    def close() -> None:
        if bar:
            bar[0].close()

    return update, close
