"""Reading what customers are sent: a PDF's text (pypdf) and its first page as a PNG (pdfium), so
a test can assert on the words and a person can look at the page."""

from __future__ import annotations

import io
from email.message import EmailMessage
from pathlib import Path

import pypdfium2
from pypdf import PdfReader

from tests.support.mail import received_messages


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-"), content[:16]
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def render_first_page(content: bytes, png: Path, scale: float = 1.5) -> tuple[int, int]:
    """Write the first page to ``png``; its size in pixels."""
    page = pypdfium2.PdfDocument(content)[0]
    image = page.render(scale=scale).to_pil()
    image.save(png)
    width, height = image.size
    return int(width), int(height)


def mails_to(mail_dir: Path, address: str) -> list[EmailMessage]:
    return [m for m in received_messages(mail_dir) if m["To"] == address]


def pdf_attachments(message: EmailMessage) -> dict[str, bytes]:
    """The message's PDF attachments by file name."""
    found: dict[str, bytes] = {}
    for part in message.iter_attachments():
        if part.get_content_type() == "application/pdf":
            content = part.get_content()
            assert isinstance(content, bytes)
            found[str(part.get_filename())] = content
    return found
