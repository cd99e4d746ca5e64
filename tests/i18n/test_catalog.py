"""Russian ships complete: every UI string of the catalogue is translated, and pages render
in Russian when the user asks for it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

PO = Path(__file__).resolve().parents[2] / "src/svyaz/locale/ru/LC_MESSAGES/django.po"


def _entries(text: str):
    for block in text.split("\n\n"):
        if "\nmsgid " not in "\n" + block or block.lstrip().startswith("#~"):
            continue
        yield block


def test_every_string_has_a_russian_translation():
    untranslated = []
    for block in _entries(PO.read_text(encoding="utf-8")):
        msgid = re.search(r'^msgid "(.*)"', block, re.M).group(1)
        if msgid == "" and "Plural-Forms" in block:
            continue  # the header
        if "#, fuzzy" in block:
            untranslated.append(block)
            continue
        strs = re.findall(r'^msgstr(?:\[\d\])? "(.*)"((?:\n".*")*)', block, re.M)
        if not strs or any(first == "" and not rest for first, rest in strs):
            untranslated.append(block)
    assert untranslated == []


@pytest.mark.django_db
def test_pages_render_in_russian(client, manager):
    manager.language = "ru"
    manager.save()
    client.force_login(manager)
    html = client.get(reverse("followups:my_day")).content.decode()
    assert "Мой день" in html and "Просрочено" in html
