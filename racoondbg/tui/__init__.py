"""The racoondbg terminal UI (Textual). Nothing outside this package imports textual.

Build the app from evidence already analysed (``racoondbg diagnose --tui``) or from a function
that analyses (``racoondbg tui PATH...``: the UI opens at once, the analysis runs in a thread)::

    from racoondbg.tui import make_app
    make_app(evidence, result).run()
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from racoondbg.engine import Result
from racoondbg.evidence import Evidence
from racoondbg.sources import Source

if TYPE_CHECKING:
    from racoondbg.tui.app import RacoonApp
    from racoondbg.tui.session import Analyse


def make_app(
    evidence: Evidence | None = None,
    result: Result | None = None,
    *,
    analyse: Analyse | None = None,
    roots: Sequence[Source] = (),
    logs: Sequence[Source] = (),
    show_keys: bool = False,
    theme: str = "dark",
    title: str = "racoondbg",
    start: str | None = None,
) -> RacoonApp:
    """The app, ready to ``run()`` (or ``run_test()``).

    ``roots`` are the inputs as given (so evidence names can be found on disk); ``logs`` are the
    racoon logs the Log view opens at once; ``start`` names the first view (``findings``, ``log``...).
    """
    from racoondbg.tui.app import RacoonApp
    from racoondbg.tui.session import Session

    session = Session(evidence, result, analyse, tuple(roots), list(logs), show_keys, title)
    if evidence is not None and result is not None:
        session.update(evidence, result)
    return RacoonApp(session, theme=theme, start=start)
