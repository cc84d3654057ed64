"""The racoondbg TUI: six linked views over one :class:`Session`, keyboard first.

Keys everywhere: ``1``–``6`` views, ``/`` search, ``n``/``N`` next/previous, ``Esc`` back (after
a jump), ``?`` help, ``Ctrl+P`` command palette, ``t`` dark/light theme, ``q`` quit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib import resources
from typing import Any, ClassVar

from textual import events, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, TabbedContent, TabPane

from racoondbg.engine import Result
from racoondbg.evidence import Evidence
from racoondbg.model.finding import EvidenceRef, Finding
from racoondbg.sources import Source
from racoondbg.tui.components.breadcrumbs import Breadcrumbs
from racoondbg.tui.components.promptbar import PromptBar
from racoondbg.tui.helpscreen import HelpScreen
from racoondbg.tui.session import Session
from racoondbg.tui.views.base import View
from racoondbg.tui.views.config import ConfigView
from racoondbg.tui.views.findings import FindingsView
from racoondbg.tui.views.log import LogView
from racoondbg.tui.views.messages import MessagesView
from racoondbg.tui.views.peers import PeersView
from racoondbg.tui.views.policies import PoliciesView

#: Tab id and view class, in tab order; the digit keys follow this order.
VIEWS: tuple[tuple[str, type[View]], ...] = (
    ("findings", FindingsView),
    ("peers", PeersView),
    ("messages", MessagesView),
    ("policies", PoliciesView),
    ("log", LogView),
    ("config", ConfigView),
)
THEMES = {"dark": "textual-dark", "light": "textual-light"}
#: Seconds between a log growing (follow mode) and the analysis running again.
REANALYSIS_DELAY = 1.0


class ViewPane(TabPane):
    """A tab pane that does not switch tabs when something inside it takes the focus: the app alone
    chooses the view (a late focus event must not pull the user back to the view they left)."""

    def _on_descendant_focus(self, event: events.DescendantFocus) -> None:
        event.prevent_default()  # skip TabPane's handler, which would activate this pane


class RacoonApp(App[None]):
    """Build it from a :class:`Session` (see :func:`racoondbg.tui.make_app`)."""

    CSS_PATH = str(resources.files("racoondbg.tui") / "racoondbg.tcss")
    TITLE = "racoondbg"
    BINDINGS: ClassVar[list[BindingType]] = [
        *(Binding(str(i), f"show('{tab}')", view.LABEL, show=False) for i, (tab, view) in enumerate(VIEWS, 1)),
        Binding("slash", "search", "Search"),
        Binding("escape", "go_back", "Back"),
        Binding("question_mark", "help", "Help"),
        Binding("t", "toggle_theme", "Theme", show=False),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, session: Session, *, theme: str = "dark", start: str | None = None) -> None:
        super().__init__()
        self.session = session
        self._theme_name = THEMES.get(theme, theme)
        self._start = start
        self.history: list[tuple[str, Any]] = []
        self.analyses = 0
        self._reanalysis_pending = False
        self._analysing = False
        self._again = False

    def compose(self) -> ComposeResult:
        yield Breadcrumbs(id="crumbs")
        with TabbedContent(id="tabs"):
            for i, (tab, view) in enumerate(VIEWS, 1):
                with ViewPane(f"{i} {view.LABEL}", id=tab):
                    yield view(id=f"view-{tab}")
        yield PromptBar(id="prompt")
        yield Footer()

    def on_mount(self) -> None:
        self.theme = self._theme_name
        self.query_one(PromptBar).display = False
        if not self.session.ready and self.session.analyse is not None:
            self._analyse()
        start = self._start or ("log" if not self.session.ready and self.session.log_files else "findings")
        self.action_show(start)

    # -- views ------------------------------------------------------------------------------------

    @property
    def active_tab(self) -> str:
        return self.query_one(TabbedContent).active

    def view(self, tab: str | None = None) -> View:
        return self.query_one(f"#view-{tab or self.active_tab}", View)

    def action_show(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        self.call_after_refresh(self._settle)

    def _settle(self) -> None:
        if not self.query_one(PromptBar).display:  # never take the keyboard from an open prompt
            self.view().focus_main()
        self.update_crumbs()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self.call_after_refresh(self._settle)

    def update_crumbs(self) -> None:
        if not self.active_tab:  # still mounting
            return
        view = self.view()
        self.query_one(Breadcrumbs).show([self.session.title, view.LABEL, *view.crumbs()])

    def on_line_view_cursor_moved(self) -> None:
        self.update_crumbs()

    # -- jumps and Esc ----------------------------------------------------------------------------

    def _remember(self) -> None:
        self.history.append((self.active_tab, self.view().state()))
        del self.history[:-50]

    def action_go_back(self) -> None:
        if not self.history:
            return
        tab, state = self.history.pop()
        self.action_show(tab)
        self.view(tab).restore(state)

    def jump_to(self, ref: EvidenceRef, finding: Finding | None = None) -> None:
        """Show a piece of evidence in the view that owns it; Esc comes back."""
        kind = self.session.kind_of(ref.path)
        self._remember()
        if ref.frame is not None and self.query_one(MessagesView).show_frame(ref.path, ref.frame):
            self.action_show("messages")
        elif kind == "log" and self._open_log(ref):
            self.action_show("log")
        elif kind in ("spd", "sad") and self.query_one(PoliciesView).show_ref(ref):
            self.action_show("policies")
        elif self.query_one(ConfigView).open_file(ref.path, ref.line):
            self.action_show("config")
        else:
            self.history.pop()

    def _open_log(self, ref: EvidenceRef) -> bool:
        source = next((s for s in self.session.log_files if s.name == ref.path), None)
        if source is None:
            path = self.session.resolve(ref.path)
            if path is None:
                self.notify(f"{ref.path} cannot be shown (stdin or a bundle member).", severity="warning")
                return False
            source = Source(path, ref.path)
            self.session.log_files.append(source)
        self.query_one(LogView).open(source, ref.line)
        return True

    def open_peer(self, peer: str) -> None:
        """The Peers view on ``peer``'s last failing negotiation; Esc comes back."""
        self._remember()
        self.action_show("peers")
        self.query_one(PeersView).open_failing(peer)

    def open_finding(self, finding: Finding) -> None:
        """Go to a finding in the Findings view; Esc comes back."""
        self._remember()
        self.action_show("findings")
        self.query_one(FindingsView).select(finding)

    # -- search and prompts -----------------------------------------------------------------------

    def prompt(self, label: str, callback: Callable[[str], None], initial: str = "", placeholder: str = "") -> None:
        self.query_one(PromptBar).ask(label, callback, initial, placeholder)

    def action_search(self) -> None:
        view = self.view()
        self.prompt("/", view.search, placeholder=view.search_hint())

    def on_prompt_bar_closed(self) -> None:
        self.call_after_refresh(self._settle)

    # -- analysis ---------------------------------------------------------------------------------

    def _analyse(self) -> None:
        """Run the analysis in a thread; a request while one runs makes it run once more after."""
        if self._analysing:
            self._again = True
            return
        self._analysing = True
        self._analyse_in_thread()

    @work(thread=True, group="analyse")
    def _analyse_in_thread(self) -> None:
        assert self.session.analyse is not None
        try:
            evidence, result = self.session.analyse()
        except Exception as exc:  # never let the analysis take the UI down
            self.call_from_thread(self.notify, f"analysis failed: {type(exc).__name__}: {exc}", severity="error")
            self.call_from_thread(self._analysed, None)
            return
        self.call_from_thread(self._analysed, (evidence, result))

    def _analysed(self, outcome: tuple[Evidence, Result] | None) -> None:
        self._analysing = False
        if outcome is not None:
            self.apply_result(*outcome)
        if self._again:
            self._again = False
            self._analyse()

    def apply_result(self, evidence: Evidence, result: Result) -> None:
        """New evidence and findings (first analysis, or a re-run in follow mode)."""
        self.analyses += 1
        self.session.update(evidence, result)
        for tab, _ in VIEWS:
            self.view(tab).session_changed()
        self.update_crumbs()

    def schedule_reanalysis(self) -> None:
        """Run the analysis again soon (follow mode calls this as lines arrive); bursts coalesce."""
        if self.session.analyse is None or self._reanalysis_pending:
            return
        self._reanalysis_pending = True

        def fire() -> None:
            self._reanalysis_pending = False
            self._analyse()

        self.set_timer(REANALYSIS_DELAY, fire)

    # -- help, theme, palette ---------------------------------------------------------------------

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.view().HELP))

    def action_toggle_theme(self) -> None:
        self.theme = THEMES["light"] if self.theme == THEMES["dark"] else THEMES["dark"]

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        for i, (tab, view) in enumerate(VIEWS, 1):
            yield SystemCommand(f"View: {view.LABEL}", f"Show the {view.LABEL} view (key {i})",
                                lambda tab=tab: self.action_show(tab))
        yield SystemCommand("Dark/light theme", "Switch between the dark and the light theme (key t)",
                            self.action_toggle_theme)
        yield SystemCommand("Follow the log", "Tail the log and re-run the analysis as lines arrive (key F)",
                            self._follow)
        yield SystemCommand("Help", "Keys and what each view shows (key ?)", self.action_help)
        for finding in self.session.findings:
            yield SystemCommand(f"{finding.code} {finding.slug}", finding.message,
                                lambda f=finding: self.open_finding(f))
        yield from super().get_system_commands(screen)

    def _follow(self) -> None:
        self.action_show("log")
        self.query_one(LogView).action_toggle_follow()
