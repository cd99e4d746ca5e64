"""Pages: the side-by-side merge (GET/POST), the card's "Undo" button, the history list
with its HTMX undo."""

from __future__ import annotations

import pytest
from django.urls import reverse

from svyaz.contacts.models import Contact
from svyaz.dataquality import merge as merging
from svyaz.dataquality.models import Merge
from tests.dataquality_merge.conftest import snapshot


def _url(pair, entity="contact"):
    return f"{reverse('dataquality:merge')}?entity={entity}&a={pair['a'].pk}&b={pair['b'].pk}"


def test_the_url_names_other_pages_link_to():
    assert reverse("dataquality:merge") == "/data/merge/"
    assert reverse("dataquality:merge_list") == "/data/merges/"
    assert reverse("dataquality:merge_undo", args=[7]) == "/data/merges/7/undo/"


def test_it_shows_both_records_side_by_side(manager_client, pair):
    response = manager_client.get(_url(pair))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="survivor" value="a"' in html and 'name="survivor" value="b"' in html
    # A radio per differing field, none for equal ones.
    assert 'name="pick_job_title" value="b"' in html
    assert 'name="pick_custom.segment" value="a"' in html
    assert 'name="pick_first_name"' not in html
    assert "Director" in html and "Manager" in html
    assert 'id="merge-counts"' in html
    counts = {title: (n_a, n_b) for title, n_a, n_b in response.context["preview"].counts}
    assert counts["deals"] == (1, 1)
    assert counts["activities"] == (2, 3)


def test_post_merges_and_the_card_offers_undo(manager_client, pair):
    a, b = pair["a"], pair["b"]
    response = manager_client.post(
        reverse("dataquality:merge"),
        {
            "entity": "contact",
            "a": a.pk,
            "b": b.pk,
            "survivor": "b",
            "pick_job_title": "a",  # A's value, though B is kept
            "pick_custom.segment": "b",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("contacts:contact_detail", args=[b.pk])
    merge = Merge.objects.get()
    assert (merge.survivor_id, merge.other_id) == (b.pk, a.pk)
    b.refresh_from_db()
    assert b.job_title == "Manager"
    assert b.custom["segment"] == "wholesale"
    assert not Contact.objects.filter(pk=a.pk).exists()
    card = manager_client.get(response["Location"])
    html = card.content.decode()
    assert 'id="merge-undo"' in html
    assert reverse("dataquality:merge_undo", args=[merge.pk]) in html
    undone = manager_client.post(
        reverse("dataquality:merge_undo", args=[merge.pk]),
        {"next": reverse("dataquality:merge_list")},
    )
    assert undone.status_code == 302
    assert undone["Location"] == reverse("dataquality:merge_list")
    merge.refresh_from_db()
    assert merge.undone_at is not None
    assert Contact.objects.filter(pk=a.pk).exists()


def test_post_without_a_survivor_shows_the_error_and_changes_nothing(manager_client, pair):
    before = snapshot("contact", [pair["a"].pk, pair["b"].pk])
    response = manager_client.post(
        reverse("dataquality:merge"),
        {"entity": "contact", "a": pair["a"].pk, "b": pair["b"].pk, "pick_job_title": "b"},
    )
    assert response.status_code == 400
    assert "Choose the record to keep." in response.content.decode()
    assert snapshot("contact", [pair["a"].pk, pair["b"].pk]) == before


def test_the_same_record_twice_is_a_400_page(manager_client, pair):
    url = f"{reverse('dataquality:merge')}?entity=contact&a={pair['a'].pk}&b={pair['a'].pk}"
    response = manager_client.get(url)
    assert response.status_code == 400
    assert "A record cannot be merged with itself." in response.content.decode()


@pytest.mark.parametrize(
    ("query", "status"),
    [("entity=deal&a=1&b=2", 404), ("entity=contact&a=x&b=2", 400), ("", 404)],
)
def test_bad_parameters_never_500(manager_client, pair, query, status):
    response = manager_client.get(f"{reverse('dataquality:merge')}?{query}")
    assert response.status_code == status


def test_an_already_merged_record_shows_a_clear_error(manager_client, manager, pair):
    merging.merge_records(
        actor=manager, entity="contact", survivor_id=pair["a"].pk, other_id=pair["b"].pk
    )
    response = manager_client.get(_url(pair))
    assert response.status_code == 400
    assert "was already merged into" in response.content.decode()


def test_an_outsider_gets_404_and_nothing_changes(client, outsider, pair):
    client.force_login(outsider)
    before = snapshot("contact", [pair["a"].pk, pair["b"].pk])
    assert client.get(_url(pair)).status_code == 404
    response = client.post(
        reverse("dataquality:merge"),
        {"entity": "contact", "a": pair["a"].pk, "b": pair["b"].pk, "survivor": "a"},
    )
    assert response.status_code == 404
    assert snapshot("contact", [pair["a"].pk, pair["b"].pk]) == before


def test_the_history_lists_merges_and_undoes_them_with_htmx(manager_client, manager, pair):
    merge = merging.merge_records(
        actor=manager, entity="contact", survivor_id=pair["a"].pk, other_id=pair["b"].pk
    )
    page = manager_client.get(reverse("dataquality:merge_list"))
    assert page.status_code == 200
    assert f'data-undo="{merge.pk}"' in page.content.decode()
    response = manager_client.post(
        reverse("dataquality:merge_undo", args=[merge.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith(f'<tr id="merge-{merge.pk}"')
    assert 'data-status="undone"' in html
    assert "The merge was undone" in html
    again = manager_client.post(
        reverse("dataquality:merge_undo", args=[merge.pk]), HTTP_HX_REQUEST="true"
    )
    assert again.status_code == 200
    assert "This merge was already undone." in again.content.decode()


def test_undo_twice_on_the_page_is_a_message_not_an_error(manager_client, manager, pair):
    merge = merging.merge_records(
        actor=manager, entity="contact", survivor_id=pair["a"].pk, other_id=pair["b"].pk
    )
    url = reverse("dataquality:merge_undo", args=[merge.pk])
    assert manager_client.post(url).status_code == 302
    response = manager_client.post(url, follow=True)
    assert response.status_code == 200
    assert "This merge was already undone." in response.content.decode()


def test_the_history_and_the_undo_are_scoped(client, outsider, manager, pair):
    merge = merging.merge_records(
        actor=manager, entity="contact", survivor_id=pair["a"].pk, other_id=pair["b"].pk
    )
    client.force_login(outsider)
    page = client.get(reverse("dataquality:merge_list"))
    assert f'data-merge="{merge.pk}"' not in page.content.decode()
    assert client.post(reverse("dataquality:merge_undo", args=[merge.pk])).status_code == 404
    merge.refresh_from_db()
    assert merge.undone_at is None


def test_undo_needs_post(manager_client, manager, pair):
    merge = merging.merge_records(
        actor=manager, entity="contact", survivor_id=pair["a"].pk, other_id=pair["b"].pk
    )
    assert manager_client.get(reverse("dataquality:merge_undo", args=[merge.pk])).status_code == 405


def test_companies_merge_through_the_page(manager_client, company_pair):
    a, b = company_pair["a"], company_pair["b"]
    url = f"{reverse('dataquality:merge')}?entity=company&a={a.pk}&b={b.pk}"
    assert manager_client.get(url).status_code == 200
    response = manager_client.post(
        reverse("dataquality:merge"),
        {"entity": "company", "a": a.pk, "b": b.pk, "survivor": "a", "pick_name": "b"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("contacts:company_detail", args=[a.pk])
    a.refresh_from_db()
    assert a.name == "Romashka LLC"
