"""The rule engine: a registry filled by a decorator, and a runner that never crashes.

Codes are unique; a slug names a failure mode and may be shared by rules that see the same
failure in different evidence.

A rule is a function ``check(ev) -> Iterable[Hit]`` registered with :func:`rule`. Its docstring is
its explanation (what ``racoondbg explain`` prints), written in Markdown with the sections
*What it means / Why racoon fails / Evidence it looks at / How to fix / References*.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import pkgutil
import re
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache

from racoondbg.evidence import Evidence
from racoondbg.model.base import redact_secrets
from racoondbg.model.finding import EvidenceRef, Finding, Severity

log = logging.getLogger(__name__)

_CODE = re.compile(r"^RDB\d{3}$")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True, slots=True)
class Hit:
    """What a rule's check yields; the engine adds the rule's code, slug, title and severity."""

    message: str
    evidence: Sequence[EvidenceRef] = ()
    fix: str | None = None
    severity: Severity | None = None
    peer: str | None = None
    title: str | None = None


Check = Callable[[Evidence], Iterable[Hit]]


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    slug: str
    title: str
    severity: Severity
    needs: frozenset[str]
    check: Check
    explanation: str
    fix: str | None = None
    module: str = ""

    @property
    def family(self) -> str:
        return self.module.rsplit(".", 1)[-1]

    def missing(self, ev: Evidence) -> list[str]:
        return sorted(need for need in self.needs if not ev.has(need))


_REGISTRY: dict[str, Rule] = {}


def rule(
    code: str,
    slug: str,
    *,
    title: str,
    severity: Severity,
    needs: Iterable[str],
    fix: str | None = None,
) -> Callable[[Check], Check]:
    """Register a check. ``needs`` names evidence parts; ``"spd|script"`` means either will do."""

    def register(check: Check) -> Check:
        if not _CODE.match(code):
            raise ValueError(f"rule code {code!r} is not RDB + 3 digits")
        if not _SLUG.match(slug):
            raise ValueError(f"rule slug {slug!r} is not lower-case-with-dashes")
        doc = inspect.cleandoc(check.__doc__ or "")
        if not doc:
            raise ValueError(f"rule {code} {slug} has no explanation (docstring)")
        origin = (check.__module__, check.__qualname__)
        other = _REGISTRY.get(code)
        if other is not None and (other.module, other.check.__qualname__) != origin:
            raise ValueError(f"rule code {code} is used twice ({other.slug} and {slug})")
        _REGISTRY[code] = Rule(
            code, slug, title, severity, frozenset(needs), check, doc, fix, check.__module__
        )
        return check

    return register


INTERNAL_ERROR = Rule(
    "RDB900",
    "internal-error",
    "racoondbg itself failed while checking",
    Severity.WARNING,
    frozenset(),
    lambda ev: (),
    "A rule raised an exception. The other rules still ran; this finding stands in for the one that "
    "failed. Please report it with the input that caused it (run with `--debug` for the traceback).",
    module="racoondbg.engine",
)


@cache
def all_rules() -> tuple[Rule, ...]:
    """Every registered rule, importing every module of :mod:`racoondbg.rules` once."""
    import racoondbg.rules as package

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        importlib.import_module(f"{package.__name__}.{info.name}")
    return (*sorted(_REGISTRY.values(), key=lambda r: r.code), INTERNAL_ERROR)


def find_rules(code_or_slug: str) -> list[Rule]:
    """The rule with this code, or every rule with this slug.

    A slug names a failure mode; several rules may detect the same failure from different
    evidence (``psk-not-found`` from the log, and predicted from psk.txt), each with its own code.
    """
    key = code_or_slug.strip()
    return [r for r in all_rules() if key.upper() == r.code or key.lower() == r.slug]


@dataclass(slots=True)
class Coverage:
    ran: list[str] = field(default_factory=list)
    skipped: list[tuple[str, list[str]]] = field(default_factory=list)


@dataclass(slots=True)
class Result:
    findings: list[Finding]
    coverage: Coverage


def run(ev: Evidence, *, ignore: Iterable[str] = (), debug: bool = False) -> Result:
    """Run every rule whose needs are met. An exception in one rule becomes an RDB900 finding."""
    ignored = {i.strip().upper() for i in ignore} | {i.strip().lower() for i in ignore}
    findings: list[Finding] = []
    coverage = Coverage()
    for r in all_rules():
        if r is INTERNAL_ERROR or r.code in ignored or r.slug in ignored:
            continue
        missing = r.missing(ev)
        if missing:
            coverage.skipped.append((r.slug, missing))
            continue
        coverage.ran.append(r.slug)
        try:
            hits = list(r.check(ev))
        except Exception as exc:
            log.debug("rule %s failed", r.code, exc_info=True)
            if INTERNAL_ERROR.code not in ignored:
                findings.append(_internal_error(r, exc, debug))
            continue
        findings.extend(_finding(r, hit, redact=not ev.options.show_keys) for hit in hits)
    for peer in ev.peers:  # the other hosts' own findings (their evidence names their bundle)
        findings.extend(run(peer, ignore=ignore, debug=debug).findings)
    findings.sort(key=Finding.sort_key)
    return Result(findings, coverage)


def _finding(r: Rule, hit: Hit, *, redact: bool = True) -> Finding:
    """The finding a hit makes; unless --show-keys, key-shaped text in it is redacted (a rule
    quoting a setkey -D key line or a hexdump must not print the key)."""
    clean = redact_secrets if redact else _same
    return Finding(
        code=r.code,
        slug=r.slug,
        severity=hit.severity or r.severity,
        title=hit.title or r.title,
        message=clean(hit.message),
        evidence=tuple(
            replace(e, excerpt=clean(e.excerpt) if e.excerpt else e.excerpt, note=clean(e.note) if e.note else e.note)
            for e in hit.evidence
        ),
        fix=clean(hit.fix) if hit.fix else r.fix,
        peer=hit.peer,
    )


def _same(text: str) -> str:
    return text


def _internal_error(r: Rule, exc: Exception, debug: bool) -> Finding:
    return Finding(
        code=INTERNAL_ERROR.code,
        slug=INTERNAL_ERROR.slug,
        severity=INTERNAL_ERROR.severity,
        title=INTERNAL_ERROR.title,
        message=f"rule {r.code} {r.slug} failed with {type(exc).__name__}; its verdict is missing.",
        fix="Run again with --debug and report the traceback.",
        debug="".join(traceback.format_exception(exc)) if debug else None,
    )
