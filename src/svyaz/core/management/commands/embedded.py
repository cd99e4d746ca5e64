"""The embedded mode: `manage.py embedded [--host 127.0.0.1] [--port 8000] [--no-demo]`.

One process does everything a small business needs: migrate, collect static files, load the
demo data once, start the in-process scheduler for periodic jobs and serve the WSGI app with
waitress (pure Python, no reverse proxy needed).
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from svyaz.celery import app as celery_app
from svyaz.core import scheduler
from svyaz.core.management.demo import DEMO_PASSWORD, DEMO_USERNAME, demo_loaded

SERVER_THREADS = 8


def serve(*, host: str, port: int) -> None:
    """Serve the WSGI app until interrupted. Tests replace this function."""
    from waitress import serve as waitress_serve

    from svyaz.wsgi import application

    waitress_serve(application, host=host, port=port, threads=SERVER_THREADS, ident="Svyaz")


def display_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else f"[{host}]" if ":" in host else host  # noqa: S104
    return f"http://{shown}:{port}/"


class Command(BaseCommand):
    help = "Run Svyaz embedded: migrate, collect static files, load demo data once, serve."

    def add_arguments(self, parser):
        parser.add_argument(
            "--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1)."
        )
        parser.add_argument(
            "--port", type=int, default=8000, help="Port to listen on (default 8000)."
        )
        parser.add_argument("--no-demo", action="store_true", help="Do not load the demo data set.")

    def handle(self, *args, host: str, port: int, no_demo: bool, **options):
        verbosity = options.get("verbosity", 1)
        self.stdout.write("Svyaz: applying database migrations…")
        call_command("migrate", interactive=False, verbosity=max(0, verbosity - 1))
        self.stdout.write("Svyaz: collecting static files…")
        call_command("collectstatic", interactive=False, verbosity=max(0, verbosity - 1))
        if not no_demo:
            call_command("seed_demo", stdout=self.stdout, verbosity=verbosity)

        # No Celery worker here, so nothing else imports the apps' tasks.py modules:
        # load them (Celery's autodiscovery) before the scheduler looks the jobs up.
        celery_app.loader.import_default_modules()
        os.environ["SVYAZ_SCHEDULER_RUN"] = "1"
        scheduler.start_if_embedded()

        url = display_url(host, port)
        line = "=" * 60
        self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"  Svyaz is running at {url}"))
        if demo_loaded():
            self.stdout.write(
                f"  Demo login: username “{DEMO_USERNAME}”, password “{DEMO_PASSWORD}”"
            )
        else:
            self.stdout.write("  Create a user first: python manage.py createsuperuser")
        self.stdout.write(f"  Data folder: {settings.DATA_DIR}")
        self.stdout.write("  Stop with Ctrl+C")
        self.stdout.write(line)
        self.stdout.flush()
        try:
            serve(host=host, port=port)
        except KeyboardInterrupt:
            self.stdout.write("Svyaz stopped.")
        except OSError as exc:
            raise CommandError(
                f"Cannot listen on {host}:{port} ({exc.strerror or exc}). "
                "Is Svyaz or another server already running there? Choose another one with --port."
            ) from exc
