from __future__ import annotations

import pytest

from svyaz.sales.models import Stage


@pytest.fixture
def stages(pipeline):
    """{name: Stage} of the default test pipeline: New, Negotiation, Won, Lost."""
    return {s.name: s for s in Stage.objects.filter(pipeline=pipeline)}
