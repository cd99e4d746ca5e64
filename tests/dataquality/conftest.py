from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile


@pytest.fixture
def importer_role(db):
    """Importing needs the "import" grant (issue #3); the shipped manager role has none."""
    from svyaz.accounts.models import Role

    grants = {e: {"import": "own"} for e in ("contacts", "companies", "orders", "leads")}
    return Role.objects.get_or_create(code="importer", defaults={"grants": grants})[0]


@pytest.fixture
def manager(manager, importer_role):
    manager.roles.add(importer_role)
    return manager


@pytest.fixture
def outsider(outsider, importer_role):
    outsider.roles.add(importer_role)
    return outsider


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.SVYAZ_IMPORT_CHUNK_ROWS = 3


def csv_bytes(rows: list[list[str]], *, delimiter: str = ";", encoding: str = "utf-8") -> bytes:
    text = "\r\n".join(delimiter.join(cells) for cells in rows) + "\r\n"
    return text.encode(encoding)


def xlsx_bytes(rows: list[list]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.fixture
def upload() -> Callable[..., SimpleUploadedFile]:
    def make(content: bytes, name: str = "people.csv") -> SimpleUploadedFile:
        return SimpleUploadedFile(name, content, content_type="application/octet-stream")

    return make


RU_HEADER = [
    "Фамилия",
    "Имя",
    "Отчество",
    "Моб. телефон",
    "E-mail",
    "Компания",
    "Город",
    "Должность",
]


@pytest.fixture
def ru_rows() -> list[list[str]]:
    return [
        RU_HEADER,
        [
            "Иванов",
            "Иван",
            "Иванович",
            "8 (916) 123-45-67",
            "ivan@example.com",
            "Ромашка",
            "Москва",
            "Директор",
        ],
        ["Петрова", "Мария", "", "+7 903 111 22 33", "maria@example.com", "Ромашка", "Тверь", ""],
        ["Сидоров", "Пётр", "", "", "petr@example.com", "", "", ""],
    ]
