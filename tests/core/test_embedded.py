"""manage.py embedded: everything up to serving, with the server replaced."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from svyaz.core import scheduler
from svyaz.core.management.commands import embedded
from tests.factories import UserFactory

ALL_INTERFACES = "0.0.0.0"  # noqa: S104 -- only passed to a fake server


@pytest.fixture
def served(monkeypatch, settings, tmp_path):
    """Record the serve() call and the scheduler start instead of doing them."""
    settings.STATIC_ROOT = tmp_path / "static"
    calls: dict[str, object] = {"serve": None, "scheduler": 0, "commands": []}

    def fake_serve(*, host, port):
        calls["serve"] = (host, port)

    def fake_start():
        calls["scheduler"] += 1

    real_call_command = embedded.call_command

    def recording_call_command(name, *args, **kwargs):
        calls["commands"].append(name)
        if name != "seed_demo":  # the full-size demo set is tested in test_seed_demo.py
            real_call_command(name, *args, **kwargs)

    monkeypatch.setattr(embedded, "serve", fake_serve)
    monkeypatch.setattr(scheduler, "start_if_embedded", fake_start)
    monkeypatch.setattr(embedded, "call_command", recording_call_command)
    # setenv first so that monkeypatch records the variable and removes it again at teardown:
    # the command under test sets it, and it must not leak into later tests.
    monkeypatch.setenv("SVYAZ_SCHEDULER_RUN", "0")
    monkeypatch.delenv("SVYAZ_SCHEDULER_RUN")
    return calls


def run(*args) -> str:
    out = StringIO()
    call_command("embedded", *args, stdout=out)
    return out.getvalue()


def test_it_migrates_collects_static_seeds_and_serves(db, served, settings):
    # What production runs: every file referenced from CSS must exist, or collectstatic fails.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    out = run("--port", "8123")
    assert served["commands"] == ["migrate", "collectstatic", "seed_demo"]
    assert served["serve"] == ("127.0.0.1", 8123)
    assert "http://127.0.0.1:8123/" in out
    assert (settings.STATIC_ROOT / "staticfiles.json").exists()  # the manifest storage ran


def test_it_starts_the_scheduler_flagged_for_this_process(db, served):
    import os

    run("--no-demo")
    assert served["scheduler"] == 1
    assert os.environ["SVYAZ_SCHEDULER_RUN"] == "1"


def test_it_skips_the_demo_data_when_asked(db, served):
    out = run("--no-demo", "--host", ALL_INTERFACES, "--port", "9000")
    assert "seed_demo" not in served["commands"]
    assert served["serve"] == (ALL_INTERFACES, 9000)
    assert "http://127.0.0.1:9000/" in out
    assert "createsuperuser" in out


def test_it_prints_the_demo_login_when_the_demo_is_loaded(db, served):
    UserFactory(username="demo")
    out = run()
    assert "Demo login" in out and "“demo”" in out


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8000/"),
        (ALL_INTERFACES, "http://127.0.0.1:8000/"),
        ("::1", "http://[::1]:8000/"),
    ],
)
def test_it_shows_an_address_a_browser_can_open(host, url):
    assert embedded.display_url(host, 8000) == url


def test_it_explains_a_busy_port(db, served, monkeypatch):
    from django.core.management import CommandError

    def busy(*, host, port):
        raise OSError(98, "Address already in use")

    monkeypatch.setattr(embedded, "serve", busy)
    with pytest.raises(CommandError, match="Cannot listen on 127.0.0.1:8000 .*--port"):
        run("--no-demo")
