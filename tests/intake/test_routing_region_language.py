"""Routing by region and language (issue #4, item 5): detection, rules, fall-through, the
rule's admin form, and the intake paths that feed them (web form, call, chat, messenger)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from svyaz.intake.admin import RoutingGroupAdminForm
from svyaz.intake.chat import services as chat
from svyaz.intake.models import (
    ChatWidget,
    Conversation,
    LeadIntake,
    MessageSource,
    RoutingGroup,
    RoutingMember,
    Submission,
)
from svyaz.intake.regions import (
    language_from_header,
    region_from_phone,
    region_from_text,
    request_region,
)
from svyaz.intake.routing import group_for, route_assign
from svyaz.intake.telephony.base import NormalizedCall
from svyaz.intake.telephony.services import call_event_process, call_event_store
from svyaz.sales.models import Lead
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FORM_URL = reverse("intake:form_submit", args=["contact-us"])


@pytest.fixture
def desks(sales_dept):
    """Three rules in order: Moscow (city and oblast), Kazakh speakers, everyone else."""
    moscow, kazakh, rest = (UserFactory(department=sales_dept) for _ in range(3))
    rules = {
        "moscow": RoutingGroup.objects.create(
            name="Moscow", position=0, regions=["RU-MOW", "RU-MOS"]
        ),
        "kazakh": RoutingGroup.objects.create(name="Kazakh", position=1, languages=["kk"]),
        "rest": RoutingGroup.objects.create(name="Everyone", position=2),
    }
    for key, user in (("moscow", moscow), ("kazakh", kazakh), ("rest", rest)):
        RoutingMember.objects.create(group=rules[key], user=user)
    return rules, {"moscow": moscow, "kazakh": kazakh, "rest": rest}


# --- detection -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "region"),
    [
        ("+74951234567", "RU-MOW"),  # Moscow landline
        ("+74991234567", "RU-MOW"),
        ("+74961234567", "RU-MOS"),  # Moscow oblast
        ("+78121234567", "RU-SPE"),
        ("+78432123456", "RU-TA"),
        ("+79161234567", "RU"),  # a mobile tells the country only
        ("+77172123456", "KZ"),  # +7 7xx is Kazakhstan, not Russia
        ("+375172123456", "BY"),
        ("+12025550123", "US"),
        ("", ""),
        ("not a phone", ""),
    ],
)
def test_it_reads_the_region_from_the_phone_number(phone, region):
    assert region_from_phone(phone) == region


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("Москва", "RU-MOW"),
        ("г. Москва", "RU-MOW"),
        ("Moscow oblast", "RU-MOS"),
        ("Московская область", "RU-MOS"),
        ("Новосибирск", "RU-NVS"),
        ("Новосибирская обл.", "RU-NVS"),
        ("Казань, Россия", "RU-TA"),  # the most precise part wins
        ("Ростов-на-Дону", "RU-ROS"),
        ("Орёл", "RU-ORL"),
        ("RU-SPE", "RU-SPE"),
        ("ru-spe", "RU-SPE"),
        ("KZ", "KZ"),
        ("me", ""),  # a word, not Montenegro
        ("RU-XXX", ""),
        ("Тмутаракань", ""),
        ("", ""),
    ],
)
def test_it_reads_the_region_from_a_city_or_region_field(text, region):
    assert region_from_text(text) == region


def test_a_named_place_wins_over_the_phone_and_an_unknown_one_does_not():
    assert request_region(text="Новосибирск", phone="+74951234567") == "RU-NVS"
    assert request_region(text="Тмутаракань", phone="+74951234567") == "RU-MOW"


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", "ru"),
        ("en-GB;q=0.5, kk", "kk"),  # by quality, not by position
        ("*", ""),
        ("", ""),
        ("garbage;;q=x", ""),
    ],
)
def test_it_reads_the_language_from_accept_language(header, language):
    assert language_from_header(header) == language


# --- rules ---------------------------------------------------------------------------------


def test_a_region_rule_takes_requests_from_its_region(desks):
    rules, users = desks
    assert route_assign(channel="web", source="web_form", region="RU-MOW") == users["moscow"]
    assert route_assign(channel="phone", source="call", region="RU-MOS") == users["moscow"]
    assert route_assign(channel="web", source="web_form", region="RU-SPE") == users["rest"]


def test_a_country_in_a_rule_takes_every_region_of_it(desks):
    rules, users = desks
    rules["moscow"].regions = ["RU"]
    rules["moscow"].save()
    assert group_for(channel="web", source="", region="RU-NVS") == rules["moscow"]
    assert group_for(channel="web", source="", region="RU") == rules["moscow"]
    assert group_for(channel="web", source="", region="KZ") == rules["rest"]


def test_a_language_rule_takes_requests_in_its_language(desks):
    rules, users = desks
    assert route_assign(channel="chat", source="website", language="kk") == users["kazakh"]
    assert route_assign(channel="chat", source="website", language="ru") == users["rest"]


def test_a_request_that_meets_no_condition_falls_through_to_the_next_rule(desks):
    rules, users = desks
    # Unknown region and language: neither condition can hold.
    assert group_for(channel="web", source="") == rules["rest"]
    # Both conditions on one rule: both must hold.
    rules["moscow"].languages = ["ru"]
    rules["moscow"].save()
    assert group_for(channel="web", source="", region="RU-MOW", language="en") == rules["rest"]
    assert group_for(channel="web", source="", region="RU-MOW", language="ru") == rules["moscow"]
    # Channel conditions still apply together with the region.
    rules["moscow"].channels = ["phone"]
    rules["moscow"].save()
    assert group_for(channel="web", source="", region="RU-MOW", language="ru") == rules["rest"]


def test_with_no_rule_left_the_request_goes_to_the_default(desks, admin):
    rules, users = desks
    rules["rest"].delete()
    assert route_assign(channel="web", source="", region="RU-SPE") == admin


def test_a_forms_own_rule_with_a_region_lets_other_regions_fall_through(desks):
    rules, users = desks
    own = rules["moscow"]
    # The form's own rule serves its requests from Moscow…
    assert route_assign(channel="web", source="", group=own, region="RU-MOW") == users["moscow"]
    # …and the others go down the ordered rules (here: the Kazakh desk, then everyone).
    assert route_assign(channel="web", source="", group=own, language="kk") == users["kazakh"]
    assert route_assign(channel="web", source="", group=own, region="RU-SPE") == users["rest"]


# --- the rule's admin form ----------------------------------------------------------------


def _rule_data(**extra):
    data = {
        "name": "Rule",
        "position": 0,
        "active": True,
        "channels": "[]",
        "sources": "[]",
        "regions": "[]",
        "languages": "[]",
        "strategy": "round_robin",
        "working_hours": "[]",
    }
    data.update(extra)
    return data


def test_the_rule_form_cleans_region_and_language_codes(db):
    form = RoutingGroupAdminForm(
        data=_rule_data(regions='["ru-mow", "RU", "kz", "RU-MOW"]', languages='["RU", "kk"]')
    )
    assert form.is_valid(), form.errors
    rule = form.save()
    assert rule.regions == ["RU-MOW", "RU", "KZ"]
    assert rule.languages == ["ru", "kk"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("regions", '["Moscow"]', "“Moscow” is not a region code"),
        ("regions", '["RU-XXX"]', "“RU-XXX” is not a region code"),
        ("regions", '["XX"]', "“XX” is not a region code"),
        ("regions", '"RU"', "Enter a list of region codes"),
        ("languages", '["russian"]', "“russian” is not a language code"),
        ("languages", '["ru-RU"]', "“ru-RU” is not a language code"),
        ("languages", '["xx"]', "“xx” is not a language code"),
        ("languages", "{}", "Enter a list of language codes"),
    ],
)
def test_the_rule_form_refuses_wrong_codes_with_field_errors(db, field, value, message):
    form = RoutingGroupAdminForm(data=_rule_data(**{field: value}))
    assert not form.is_valid()
    assert list(form.errors) == [field]
    assert message in " ".join(form.errors[field])
    assert not RoutingGroup.objects.exists()


def test_the_admin_page_shows_the_field_errors_and_saves_nothing(client, admin):
    client.force_login(admin)
    url = reverse("admin:intake_routinggroup_add")
    management = {
        "members-TOTAL_FORMS": "0",
        "members-INITIAL_FORMS": "0",
        "members-MIN_NUM_FORMS": "0",
        "members-MAX_NUM_FORMS": "1000",
    }
    response = client.post(url, {**_rule_data(regions='["Narnia"]'), **management})
    assert response.status_code == 200
    assert "“Narnia” is not a region code" in response.content.decode()
    assert not RoutingGroup.objects.exists()
    response = client.post(url, {**_rule_data(regions='["ru-spe"]'), **management})
    assert response.status_code == 302
    assert RoutingGroup.objects.get().regions == ["RU-SPE"]


# --- the intake paths ---------------------------------------------------------------------


def _only_the_desks(channel_owner):
    """The form's (or line's) own rule from conftest goes: the ordered desks decide."""
    own = channel_owner.routing_group
    channel_owner.routing_group = None
    channel_owner.save()
    own.delete()


def test_a_web_form_routes_by_its_city_field_and_keeps_region_and_language(client, webform, desks):
    rules, users = desks
    _only_the_desks(webform)
    webform.fields = [*webform.fields, {"name": "city", "label": "City", "target": "region"}]
    webform.save()
    data = {
        "name": "Olga",
        "phone": "+7 383 212-34-56",  # Novosibirsk by the phone…
        "city": "Москва",  # …but she says Moscow
        "consent": "1",
    }
    response = client.post(
        FORM_URL, data, HTTP_ACCEPT="application/json", HTTP_ACCEPT_LANGUAGE="ru-RU,ru;q=0.9"
    )
    assert response.status_code == 200, response.content
    lead = Lead.objects.get()
    assert lead.owner == users["moscow"]
    intake = LeadIntake.objects.get(lead=lead)
    assert (intake.region, intake.language) == ("RU-MOW", "ru")
    assert Submission.objects.get().language == "ru"


def test_a_web_form_routes_by_the_browser_language(client, webform, desks):
    rules, users = desks
    _only_the_desks(webform)
    data = {"name": "Aigerim", "email": "a@example.kz", "consent": "1", "_language": "kk-KZ"}
    response = client.post(
        FORM_URL, data, HTTP_ACCEPT="application/json", HTTP_ACCEPT_LANGUAGE="ru"
    )
    assert response.status_code == 200, response.content
    lead = Lead.objects.get()
    assert lead.owner == users["kazakh"]  # navigator.language beats the header
    intake = LeadIntake.objects.get(lead=lead)
    assert (intake.region, intake.language) == ("", "kk")


def test_a_forms_own_rule_with_a_region_condition_passes_others_on(client, webform, desks):
    rules, users = desks
    _only_the_desks(webform)
    webform.routing_group = rules["moscow"]
    webform.save()
    data = {"name": "Pavel", "phone": "+7 812 123-45-67", "consent": "1"}
    assert client.post(FORM_URL, data, HTTP_ACCEPT="application/json").status_code == 200
    lead = Lead.objects.get()
    assert lead.owner == users["rest"]
    assert LeadIntake.objects.get(lead=lead).region == "RU-SPE"


def test_a_wrong_region_target_is_refused_by_the_form_settings():
    from svyaz.intake import webforms

    assert webforms.fields_errors([{"name": "city", "target": "region"}]) == []
    assert webforms.fields_errors([{"name": "city", "target": "town"}])


def test_a_call_from_a_moscow_number_goes_to_the_moscow_desk(provider, desks):
    rules, users = desks
    _only_the_desks(provider)
    call = NormalizedCall(
        event_id="e-1",
        direction="in",
        status="answered",
        caller="+74957654321",
        callee="+74950000000",
        started_at=datetime(2026, 3, 9, 9, 0, tzinfo=UTC),
        duration_seconds=30,
        recording_url="",
        raw={},
    )
    event, _created = call_event_store(provider=provider, call=call)
    call_event_process(event.pk)
    lead = Lead.objects.get()
    assert lead.owner == users["moscow"]
    assert LeadIntake.objects.get(lead=lead).region == "RU-MOW"


def test_a_chat_in_kazakh_goes_to_the_kazakh_desk(desks, client):
    rules, users = desks
    widget = ChatWidget.objects.create(name="Site", key="site")
    response = client.post(
        reverse("intake:chat_start", args=[widget.key]),
        {"text": "Сәлеметсіз бе!", "name": "Aigerim"},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="kk-KZ,kk;q=0.9,ru;q=0.8",
    )
    assert response.status_code == 200, response.content
    conversation = Conversation.objects.get()
    assert conversation.language == "kk"
    chat.message_process(conversation.messages.get().pk)
    conversation.refresh_from_db()
    assert conversation.owner == users["kazakh"]
    assert LeadIntake.objects.get(lead=conversation.lead).language == "kk"


def test_a_messenger_senders_language_and_phone_route_the_conversation(desks):
    rules, users = desks
    source = MessageSource.objects.create(name="tg", network="Telegram", secret="s")
    message, created = chat.inbound_message_receive(
        source=source,
        data=chat.InboundMessage(
            event_id="1", sender_id="42", text="Hi", phone="+74991234567", language="en-US"
        ),
    )
    assert created
    chat.message_process(message.pk)
    conversation = message.conversation
    conversation.refresh_from_db()
    assert conversation.language == "en"
    assert conversation.owner == users["moscow"]
    intake = LeadIntake.objects.get(lead=conversation.lead)
    assert (intake.region, intake.language) == ("RU-MOW", "en")


def test_the_lead_card_shows_region_and_language(manager_client, manager):
    from svyaz.sales.services import lead_create

    lead = lead_create(actor=manager, title="Card", owner=manager)
    LeadIntake.objects.create(
        lead=lead,
        channel="web",
        received_at=datetime(2026, 3, 9, 9, 0, tzinfo=UTC),
        region="RU-NVS",
        language="ru",
        routed_to=manager,
    )
    body = manager_client.get(reverse("sales:lead_detail", args=[lead.pk])).content.decode()
    assert 'id="lead-intake-region">RU-NVS<' in body
    assert 'id="lead-intake-language">ru<' in body
