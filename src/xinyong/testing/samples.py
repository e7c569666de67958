"""Valid submission rows for tests and benchmarks, built from the identifier generators, and
real evidence files (images and PDFs) to send with objections."""

import io
from datetime import date
from typing import Any

from PIL import Image
from pypdf import PdfWriter

from xinyong.identifiers import resident_id, uscc


def person(index: int) -> str:
    """The ``index``-th test person: a valid resident identity number in Chaoyang, Beijing."""
    birth = date(1950 + index % 50, 1 + index % 12, 1 + index % 28)
    return resident_id.make("110105", birth, 1 + index % 999)


def organisation(index: int) -> str:
    """The ``index``-th test enterprise: a valid USCC registered in Beijing."""
    return uscc.make("9", "1", "110105", f"{index:08d}")


def with_wrong_check(code: str) -> str:
    """The same code with its last (check) character replaced by another valid symbol."""
    last = code[-1]
    replacement = "0" if last != "0" else "1"
    return code[:-1] + replacement


def defaulter_listing(subject: str, number: int, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "record_type": "court.defaulter_listing",
        "subject_id": subject,
        "subject_name": "张三",
        "authority": "court.110105",
        "document_no": f"(2024)京0105执{number}号",
        "decided_on": "2024-03-01",
        "effective_on": "2024-03-05",
        "severity": "serious",
        "amount": 120000.0,
        "fields": {"case_no": f"(2024)京0105执{number}号", "ground": "able_but_refuses"},
    }
    row.update(overrides)
    return row


def consumption_restriction(subject: str, number: int, **overrides: Any) -> dict[str, Any]:
    """The court's consumption restriction of the case of ``defaulter_listing(subject, number)``."""
    row: dict[str, Any] = {
        "record_type": "court.consumption_restriction",
        "subject_id": subject,
        "subject_name": "张三",
        "authority": "court.110105",
        "document_no": f"(2024)京0105执{number}号",
        "decided_on": "2024-03-01",
        "effective_on": "2024-03-05",
        "severity": "serious",
        "fields": {"case_no": f"(2024)京0105执{number}号"},
    }
    row.update(overrides)
    return row


def registration(
    organisation_code: str, representative: str, number: int, **overrides: Any
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "record_type": "market.registration",
        "subject_id": organisation_code,
        "subject_name": "北京示例科技有限公司",
        "authority": "market.110105",
        "document_no": f"京朝市监登〔2020〕{number}号",
        "decided_on": "2020-05-01",
        "effective_on": "2020-05-01",
        "fields": {
            "name": "北京示例科技有限公司",
            "org_type": "enterprise",
            "legal_representative_id": representative,
            "legal_representative_name": "李四",
            "registered_capital": 1000000,
            "address": "北京市朝阳区示例路1号",
            "established_on": "2020-05-01",
        },
    }
    row.update(overrides)
    return row


def blood_donation(subject: str, number: int, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "record_type": "health.blood_donation",
        "subject_id": subject,
        "subject_name": "王五",
        "authority": "health.110000",
        "document_no": f"京献血〔2025〕{number}号",
        "decided_on": "2025-06-01",
        "effective_on": "2025-06-01",
        "fields": {"volume_ml": 400},
    }
    row.update(overrides)
    return row


def volunteer_service(
    subject: str, number: int, effective_on: str, **overrides: Any
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "record_type": "volunteer.service",
        "subject_id": subject,
        "subject_name": "王五",
        "authority": "youth_league.110000",
        "document_no": f"京志愿〔2026〕{number}号",
        "decided_on": effective_on,
        "effective_on": effective_on,
        "fields": {"hours": 8},
    }
    row.update(overrides)
    return row


def png(width: int = 2, height: int = 2) -> bytes:
    """A real PNG image of the given size, as an objection's evidence."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def jpeg(width: int = 16, height: int = 16) -> bytes:
    """A real JPEG image of the given size."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 30, 200)).save(out, format="JPEG")
    return out.getvalue()


def pdf(pages: int = 1) -> bytes:
    """A real PDF of blank A4 pages."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
