"""The review queue, "Not a duplicate" (HTMX), the settings page and "Scan now"."""

from __future__ import annotations

import pytest
from django.urls import reverse

from svyaz.dataquality.dedup import services
from svyaz.dataquality.models import DedupSettings, DuplicatePair, DuplicateStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def scanned(twins, outsider_twins):
    services.duplicates_scan()
    assert DuplicatePair.objects.count() == 2
    return twins, outsider_twins


def test_it_lists_pairs_side_by_side_with_a_merge_link(manager_client, scanned):
    (a, b), _ = scanned
    response = manager_client.get(reverse("dataquality:duplicates"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="bg-white rounded shadow-sm mb-3 duplicate-pair"') == 1
    assert "Щукин Юрий" in html and "Shchukin Yuri" in html
    assert f"entity=contact&amp;a={a.pk}&amp;b={b.pk}" in html
    assert "Not a duplicate" in html


def test_it_shows_an_outsider_none_of_another_departments_pairs(client, outsider, manager, scanned):
    (a, b), (oa, ob) = scanned
    client.force_login(outsider)
    html = client.get(reverse("dataquality:duplicates")).content.decode()
    assert "Щукин" not in html
    assert "Смирнов Олег" in html
    pair = DuplicatePair.objects.get(a_id=a.pk, b_id=b.pk)
    response = client.post(reverse("dataquality:duplicate_dismiss", args=[pair.pk]))
    assert response.status_code == 404
    pair.refresh_from_db()
    assert pair.status == DuplicateStatus.OPEN


def test_it_dismisses_with_htmx_and_the_pair_leaves_the_queue(manager_client, manager, scanned):
    (a, b), _ = scanned
    pair = DuplicatePair.objects.get(a_id=a.pk, b_id=b.pk)
    response = manager_client.post(
        reverse("dataquality:duplicate_dismiss", args=[pair.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert f'id="pair-{pair.pk}"' in html and 'data-status="dismissed"' in html
    pair.refresh_from_db()
    assert pair.status == DuplicateStatus.DISMISSED and pair.decided_by == manager
    html = manager_client.get(reverse("dataquality:duplicates")).content.decode()
    assert "No possible duplicates here." in html
    dismissed = manager_client.get(reverse("dataquality:duplicates") + "?status=dismissed")
    assert "Щукин" in dismissed.content.decode()


def test_it_dismisses_without_htmx_too(manager_client, scanned):
    (a, _b), _ = scanned
    pair = DuplicatePair.objects.get(a_id=a.pk)
    response = manager_client.post(reverse("dataquality:duplicate_dismiss", args=[pair.pk]))
    assert response.status_code == 302
    pair.refresh_from_db()
    assert pair.status == DuplicateStatus.DISMISSED
    # Dismissing twice is harmless.
    response = manager_client.post(reverse("dataquality:duplicate_dismiss", args=[pair.pk]))
    assert response.status_code == 302


def test_it_answers_400_on_a_bad_filter(manager_client, scanned):
    response = manager_client.get(reverse("dataquality:duplicates") + "?min_score=7&entity=deal")
    assert response.status_code == 400
    assert "min_score" in response.content.decode() or "Score from" in response.content.decode()


def test_it_lets_only_staff_change_the_settings(manager_client, client, admin):
    url = reverse("dataquality:dedup_settings")
    assert manager_client.get(url).status_code == 403
    assert manager_client.post(url, {"review_threshold": 0.1}).status_code == 403
    assert DedupSettings.load().review_threshold == 0.7
    client.force_login(admin)
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"review_threshold": "0.8", "auto_merge": "on", "auto_merge_threshold": "0.98"}
    )
    assert response.status_code == 302
    config = DedupSettings.load()
    assert (config.review_threshold, config.auto_merge, config.auto_merge_threshold) == (
        0.8,
        True,
        0.98,
    )


def test_it_refuses_bad_settings_with_field_errors(client, admin):
    client.force_login(admin)
    url = reverse("dataquality:dedup_settings")
    response = client.post(url, {"review_threshold": "1.5", "auto_merge_threshold": "0.9"})
    assert response.status_code == 400
    assert DedupSettings.load().review_threshold == 0.7
    response = client.post(
        url, {"review_threshold": "0.9", "auto_merge": "on", "auto_merge_threshold": "0.5"}
    )
    assert response.status_code == 400
    assert "cannot be below the review threshold" in response.content.decode()
    assert DedupSettings.load().auto_merge is False


def test_it_scans_now_for_staff_only(manager_client, client, admin, twins):
    url = reverse("dataquality:duplicates_scan")
    assert manager_client.post(url).status_code == 403
    assert not DuplicatePair.objects.exists()
    client.force_login(admin)
    response = client.post(url, follow=True)
    assert response.status_code == 200
    assert "Scan finished: 1 possible duplicates." in response.content.decode()
    assert DuplicatePair.objects.count() == 1


def test_it_sends_anonymous_users_to_login(client):
    response = client.get(reverse("dataquality:duplicates"))
    assert response.status_code == 302
