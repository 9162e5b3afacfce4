"""The funnel report: `build` computes it from the journal (pure), `text` renders text and
JSON, `html` one self-contained page."""

from leadbridge.report.build import Report, compute
from leadbridge.report.data import to_json
from leadbridge.report.html import to_html
from leadbridge.report.text import to_text

__all__ = ["Report", "compute", "to_html", "to_json", "to_text"]
