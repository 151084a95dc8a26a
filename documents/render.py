"""Jinja2 → HTML → PDF. Amounts reach the templates as integer minor units and are formatted by
the ``money`` filter (``money.format_amount``), never as floats; every value is autoescaped."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from contracts.ledger import CREDITS
from money import format_amount

if TYPE_CHECKING:
    from weasyprint.text.fonts import FontConfiguration

DOCUMENT_TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "documents"


def _money(amount: int, currency: str) -> str:
    """``{{ 2900 | money("USD") }}`` → ``29.00 USD``; negative amounts keep their sign.
    Credits are whole: ``500 CREDITS``."""
    if currency == CREDITS:
        return f"{amount} {currency}"
    sign = "-" if amount < 0 else ""
    return f"{sign}{format_amount(abs(amount), currency)} {currency}"


def _day(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d")


_templates = Environment(
    loader=FileSystemLoader(DOCUMENT_TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
)
_templates.filters["money"] = _money
_templates.filters["day"] = _day


def render_html(template: str, **context: Any) -> str:
    return _templates.get_template(template).render(**context)


def load_pdf_engine() -> None:
    """Load WeasyPrint now rather than on the first PDF (see ``html_to_pdf``): the worker does,
    so the first invoice it opens does not wait on the import."""
    import weasyprint  # noqa: F401 - imported for its side effect: loaded once per process


def html_to_pdf(html: str) -> bytes:
    """The page as a PDF; the stylesheet is inline, so nothing is fetched from anywhere.

    WeasyPrint is imported on the first PDF, not with this module: loading it (Pango, fontTools)
    costs about two seconds of CPU, which every API start would otherwise pay before anyone
    asked for a document."""
    from weasyprint import HTML

    html_document = HTML(string=html, base_url=str(DOCUMENT_TEMPLATES))
    pdf: bytes = html_document.write_pdf(font_config=_thread_fonts())
    return pdf


_fonts = threading.local()


def _thread_fonts() -> FontConfiguration:
    """This thread's font configuration (Pango's font map), made on its first PDF and kept:
    WeasyPrint otherwise builds one per document, about 13 of an invoice's 72 ms of CPU. One per
    thread, because Pango does not document its font map as thread-safe and PDFs are laid out in
    worker threads (``asyncio.to_thread``)."""
    fonts: FontConfiguration | None = getattr(_fonts, "configuration", None)
    if fonts is None:
        from weasyprint.text.fonts import FontConfiguration

        fonts = _fonts.configuration = FontConfiguration()
    return fonts
