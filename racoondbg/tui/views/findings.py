"""The Findings view: what is wrong, grouped by severity and peer, with the why, the evidence and the fix.

Enter on a finding jumps to its first piece of evidence (the log line, the config line, the
frame, the policy); the evidence list in the detail pane opens any other one. The coverage entry
says which rules could not run and which evidence would let them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Label, Markdown, OptionList, Static, Tree
from textual.widgets.option_list import Option
from textual.widgets.tree import TreeNode

from racoondbg.engine import Coverage, find_rules
from racoondbg.model.finding import EvidenceRef, Finding, Severity
from racoondbg.tui.components.empty import HOW_TO_GET
from racoondbg.tui.components.severity import finding_text, severity_label, severity_text
from racoondbg.tui.views.base import View


@dataclass(frozen=True, slots=True)
class CoverageNode:
    """The tree entry for the coverage panel."""


def _need_words(need: str) -> str:
    return " or ".join(need.split("|"))


def coverage_markdown(coverage: Coverage) -> str:
    """Which rules could not run, grouped by the evidence that would let them."""
    if not coverage.skipped:
        return f"# Coverage\n\nEvery rule ran ({len(coverage.ran)})."
    by_need: dict[str, list[str]] = defaultdict(list)
    for slug, missing in coverage.skipped:
        by_need[" + ".join(_need_words(m) for m in missing)].append(slug)
    out = [f"# Coverage\n\n{len(coverage.ran)} rules ran; **{len(coverage.skipped)} could not**, "
           "for want of evidence. Give racoondbg more to check more:\n"]
    for need, slugs in sorted(by_need.items(), key=lambda item: -len(item[1])):
        how = "; ".join(HOW_TO_GET.get(part, part) for m in need.split(" + ") for part in m.split(" or "))
        out.append(f"## {need} — {len(slugs)} rule{'s' * (len(slugs) != 1)}\n\n{how}\n\n"
                   + ", ".join(f"`{s}`" for s in sorted(slugs)) + "\n")
    return "\n".join(out)


def finding_markdown(finding: Finding) -> str:
    """The finding's rule's explanation (the same text as `racoondbg explain`)."""
    parts = []
    rules = find_rules(finding.code)
    if rules:
        parts.append(f"---\n\n### About {finding.code} {finding.slug}\n\n{rules[0].explanation}\n")
    if finding.debug:
        parts.append(f"### Traceback\n\n```\n{finding.debug}\n```\n")
    return "\n".join(parts)


def group_findings(findings: Iterable[Finding]) -> dict[Severity, dict[str, list[Finding]]]:
    """Severity (worst first) → peer → findings."""
    groups: dict[Severity, dict[str, list[Finding]]] = {}
    for finding in sorted(findings, key=Finding.sort_key):
        groups.setdefault(finding.severity, {}).setdefault(finding.peer or "host-wide", []).append(finding)
    return groups


class FindingsView(View):
    """A tree of findings on the left, the selected one explained on the right."""

    LABEL = "Findings"
    HELP = "findings.md"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "focus_evidence", "Evidence"),
        Binding("c", "show_coverage", "Coverage"),
        Binding("p", "peer_ladder", "Peer ladder"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.selected: Finding | None = None

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Tree[Any]("findings", id="findings-tree")
            with VerticalScroll(id="finding-detail"):
                yield Static("", id="finding-title")
                yield Label("Evidence — Enter opens it", id="evidence-label")
                yield OptionList(id="evidence-list")
                yield Static("", id="finding-fix", markup=False)
                yield Markdown("", id="finding-text")

    @property
    def findings_tree(self) -> Tree[Any]:
        return self.query_one("#findings-tree", Tree)

    def on_mount(self) -> None:
        self.query_one("#finding-fix").border_title = "How to fix"
        self.findings_tree.show_root = False
        self.findings_tree.guide_depth = 2
        self.session_changed()

    # -- building the tree ------------------------------------------------------------------------

    def session_changed(self) -> None:
        tree = self.findings_tree
        keep = self.selected
        tree.clear()
        if not self.session.ready:
            tree.root.add_leaf("analysing…")
            self._show_text("Analysing the evidence…")
            return
        findings = self.session.findings
        for severity, peers in group_findings(findings).items():
            count = sum(len(group) for group in peers.values())
            sev_node = tree.root.add(severity_text(severity, f" ({count})"), expand=True)
            for peer, group in peers.items():
                peer_node = sev_node.add(f"{peer} ({len(group)})", expand=True)
                for finding in group:
                    peer_node.add_leaf(finding_text(finding), data=finding)
        assert self.session.result is not None
        coverage = self.session.result.coverage
        tree.root.add_leaf(f"coverage: {len(coverage.skipped)} rules could not run", data=CoverageNode())
        node = self._node_of(keep) if keep is not None else None
        if node is None and findings:
            node = self._node_of(sorted(findings, key=Finding.sort_key)[0])
        if node is not None and isinstance(node.data, Finding):
            self._move_to(node)
            self._show_finding(node.data)
        else:
            self.selected = None
            self._show_text(self._nothing_found(), coverage=True)

    def _nothing_found(self) -> str:
        ev = self.session.evidence
        read = ", ".join(f"`{i.path}` ({i.kind})" for i in ev.inputs) if ev else ""
        return (f"# No problems found in what was read\n\nRead: {read or 'nothing'}.\n\n"
                "Press **c** to see which rules could not run, and what evidence would let them.")

    def _move_to(self, node: TreeNode[Any]) -> None:
        tree = self.findings_tree
        if tree.last_line >= 0:  # builds the tree's lines, so that the node knows its line
            tree.move_cursor(node)

    def _node_of(self, finding: Finding) -> TreeNode[Any] | None:
        stack = [self.findings_tree.root]
        while stack:
            node = stack.pop()
            if node.data == finding:
                return node
            stack.extend(node.children)
        return None

    # -- the detail pane --------------------------------------------------------------------------

    def _show_finding(self, finding: Finding) -> None:
        self.selected = finding
        title = self.query_one("#finding-title", Static)
        peer = f"\npeer {finding.peer}" if finding.peer else ""
        title.update(Content.assemble(severity_label(finding.severity), "  ",
                                      (f"{finding.code} {finding.slug}", "bold"), f" — {finding.title}{peer}\n\n",
                                      (finding.message, "bold")))
        fix = self.query_one("#finding-fix", Static)
        fix.update(finding.fix or "")
        fix.display = bool(finding.fix)
        evidence = self.query_one("#evidence-list", OptionList)
        evidence.clear_options()
        for i, ref in enumerate(finding.evidence):
            evidence.add_option(Option(_evidence_label(ref), id=str(i)))
        evidence.display = bool(finding.evidence)
        self.query_one("#evidence-label", Label).display = bool(finding.evidence)
        self.query_one("#finding-text", Markdown).update(finding_markdown(finding))
        self.query_one("#finding-detail").scroll_home(animate=False)
        self.racoon.update_crumbs()

    def _show_text(self, markdown: str, *, coverage: bool = False) -> None:
        self.query_one("#finding-title", Static).update("")
        self.query_one("#finding-fix", Static).display = False
        self.query_one("#evidence-list", OptionList).display = False
        self.query_one("#evidence-label", Label).display = False
        if coverage and self.session.result is not None:
            markdown += "\n\n" + coverage_markdown(self.session.result.coverage)
        self.query_one("#finding-text", Markdown).update(markdown)
        self.racoon.update_crumbs()

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[Any]) -> None:
        data = event.node.data
        if isinstance(data, Finding):
            self._show_finding(data)
        elif isinstance(data, CoverageNode):
            self.selected = None
            self._show_coverage()

    def on_tree_node_selected(self, event: Tree.NodeSelected[Any]) -> None:
        data = event.node.data
        if isinstance(data, Finding) and data.evidence:
            self.racoon.jump_to(data.evidence[0], data)
        elif isinstance(data, Finding):
            self.notify("This finding has no evidence to open.", severity="warning")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if self.selected is not None and event.option.id is not None:
            self.racoon.jump_to(self.selected.evidence[int(event.option.id)], self.selected)

    def _show_coverage(self) -> None:
        if self.session.result is not None:
            self._show_text(coverage_markdown(self.session.result.coverage))

    def action_show_coverage(self) -> None:
        for node in self.findings_tree.root.children:
            if isinstance(node.data, CoverageNode):
                self._move_to(node)
        self._show_coverage()

    def action_peer_ladder(self) -> None:
        if self.selected is None or not self.selected.peer:
            self.notify("This finding names no peer.", severity="warning")
            return
        self.racoon.open_peer(self.selected.peer)

    def action_focus_evidence(self) -> None:
        evidence = self.query_one("#evidence-list", OptionList)
        if evidence.display and evidence.option_count:
            evidence.focus()
            if evidence.highlighted is None:
                evidence.highlighted = 0

    # -- the rest of the View protocol ------------------------------------------------------------

    def select(self, finding: Finding) -> None:
        """Show one finding (used by the other views' "open finding" and by Esc)."""
        node = self._node_of(finding)
        if node is not None:
            self._move_to(node)
            self._show_finding(finding)

    def search_hint(self) -> str:
        return "search findings (code, slug, words of the message)"

    def search(self, query: str, *, backwards: bool = False) -> None:
        words = query.lower().split()
        ordered = [f for peers in group_findings(self.session.findings).values()
                   for group in peers.values() for f in group]
        if not ordered:
            return
        start = ordered.index(self.selected) if self.selected in ordered else -1
        step = -1 if backwards else 1
        for k in range(1, len(ordered) + 1):
            finding = ordered[(start + step * k) % len(ordered)]
            hay = f"{finding.code} {finding.slug} {finding.title} {finding.message} {finding.peer or ''}".lower()
            if all(w in hay for w in words):
                self.select(finding)
                return
        self.notify(f"No finding matches {query!r}.", severity="warning")

    def crumbs(self) -> list[str]:
        if self.selected is None:
            return []
        return [f"{self.selected.code} {self.selected.slug}"]

    def focus_main(self) -> None:
        self.findings_tree.focus()

    def state(self) -> Any:
        return self.selected

    def restore(self, state: Any) -> None:
        if isinstance(state, Finding):
            self.select(state)


def _evidence_label(ref: EvidenceRef) -> Content:
    parts: list[str | tuple[str, str]] = [(ref.where(), "bold")]
    if ref.excerpt:
        parts.append(f"  {ref.excerpt.strip()[:200]}")
    if ref.note:
        parts.append((f"  ({ref.note})", "italic"))
    return Content.assemble(*parts)
