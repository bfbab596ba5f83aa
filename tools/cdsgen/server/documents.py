"""The documents the sample data links to: bill PDFs (``file_uri``) and EAC data
(``eac_data_url``), served under the same Bearer authentication as the objects that link them
(CDS-WG3-01 §10.5.1, §10.9.1)."""

from __future__ import annotations

from typing import Any


def bill_pdf(statement: dict[str, Any]) -> bytes:
    """A one-page PDF summarizing a Bill Statement."""
    lines = [
        "Demo Power & Gas - sample bill (fictional)",
        f"Account {statement['account_number']}",
        f"Statement date {statement['statement_date']}",
        f"Amount due {statement['amount_due']:.2f} {statement['currency']}",
        f"Due by {statement['amount_due_date']}",
    ]
    return tiny_pdf(lines)


def eac_data(eac: dict[str, Any]) -> dict[str, Any]:
    """The data behind an Energy Attribute Certificate, in the sandbox's own format."""
    return {
        "format": eac["eac_format"],
        "certificates": eac["eac_numbers"],
        "period_start": eac["period_start"],
        "period_end": eac["period_end"],
        "registry": "Sandbox registry (fictional)",
    }


def tiny_pdf(lines: list[str]) -> bytes:
    """A minimal, valid PDF 1.4 file showing ``lines`` in Helvetica."""

    def literal(text: str) -> str:
        return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"

    text = (
        "BT /F1 12 Tf 14 TL 72 720 Td " + " ".join(f"{literal(line)} '" for line in lines) + " ET"
    )
    stream = text.encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
