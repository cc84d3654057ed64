"""The typed model every parser produces and every rule reads.

One module per kind of evidence; this package re-exports the shared core.
"""

from racoondbg.model.base import Location, ParseError, secret_tag
from racoondbg.model.finding import EvidenceRef, Finding, Severity

__all__ = ["EvidenceRef", "Finding", "Location", "ParseError", "Severity", "secret_tag"]
