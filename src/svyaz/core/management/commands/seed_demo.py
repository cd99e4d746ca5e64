"""Load the demo data set once: `manage.py seed_demo [--seed 42] [--scale 1.0]`."""

from __future__ import annotations

import importlib
import time

from django.core.management.base import BaseCommand, CommandError

from svyaz.core.management.demo import DEMO_PASSWORD, DEMO_USERNAME, DemoBuilder, demo_loaded


def rebuild_client_summaries() -> int | None:
    """Call sales.services.client_summaries_rebuild(); None when it does not exist (yet)."""
    try:
        services = importlib.import_module("svyaz.sales.services")
    except ImportError:
        return None
    rebuild = getattr(services, "client_summaries_rebuild", None)
    return None if rebuild is None else rebuild()


class Command(BaseCommand):
    help = "Load a realistic demo data set (departments, users, clients, deals, two years of history) once."

    def add_arguments(self, parser):
        parser.add_argument(
            "--seed", type=int, default=42, help="Random seed (same seed, same data)."
        )
        parser.add_argument(
            "--scale",
            type=float,
            default=1.0,
            help="Size factor: 1.0 is ~1,000 companies, 500 deals, 20,000 activities.",
        )

    def handle(self, *args, seed: int, scale: float, **options):
        if scale <= 0:
            raise CommandError("--scale must be greater than 0.")
        if demo_loaded():
            self.stdout.write(
                f"Demo data already loaded (user “{DEMO_USERNAME}” exists); nothing to do."
            )
            return
        started = time.perf_counter()
        self.stdout.write(f"Loading demo data (seed {seed}, scale {scale})…")
        counts = DemoBuilder(seed=seed, scale=scale, log=self.stdout.write).build()
        summaries = rebuild_client_summaries()
        if summaries is None:
            self.stdout.write(
                self.style.WARNING(
                    "  client summaries: skipped, svyaz.sales.services.client_summaries_rebuild() is missing"
                )
            )
        else:
            self.stdout.write(f"  client summaries: {summaries}")
        summary = ", ".join(f"{v} {k}" for k, v in counts.items())
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data loaded in {time.perf_counter() - started:.1f} s: {summary}."
            )
        )
        self.stdout.write(
            f"Demo login: {DEMO_USERNAME} / {DEMO_PASSWORD} "
            "(other users: anna, boris, vera, oleg… with the same password)."
        )
