"""The demo data set: a Russian IT integrator with two years of history.

Reproducible (one random.Random(seed) and seeded Faker instances drive everything) and fast:
rows are built in memory and written with bulk_create in one transaction. It writes rows
directly instead of calling the domain services, so it must keep the invariants the services
keep; tests/core/test_seed_demo.py checks them (stage chain, lost reasons, phone digits...).
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from faker import Faker

from svyaz.accounts.models import Department, User
from svyaz.accounts.roles import ensure_default_roles
from svyaz.activities.models import Activity, CallOutcome, Direction
from svyaz.contacts.models import (
    Address,
    AddressKind,
    Company,
    Contact,
    ContactCompany,
    Email,
    EmailKind,
    Phone,
    PhoneKind,
    Source,
)
from svyaz.core.management import demo_vocabulary as V
from svyaz.core.models import Tag, TimelineEntry, TimelineKind
from svyaz.core.phones import normalize_phone, phone_digits
from svyaz.followups.models import Followup, FollowupKind, FollowupStatus, Priority
from svyaz.sales.models import (
    Channel,
    Deal,
    DealLine,
    DealStageChange,
    Lead,
    LeadStatus,
    LostReason,
    Order,
    OrderLine,
    OrderStatus,
    Pipeline,
    PriceList,
    PriceListItem,
    Product,
    Stage,
    StageKind,
)

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"  # noqa: S105 -- the published demo login, not a secret
BATCH = 2000
CENT = Decimal("0.01")

# Targets at scale 1.0.
BASE_COUNTS = {
    "companies": 1000,
    "contacts": 1000,
    "deals": 500,
    "activities": 20000,
    "orders": 4000,
    "leads": 60,
}

# username, first, last, department key, role, is head, owner weight, language
USERS = [
    ("demo", "Демо", "Администратор", "root", "administrator", True, 0.2, "ru"),
    ("vera", "Вера", "Смирнова", "msk", "head_of_sales", True, 1.0, ""),
    ("anna", "Анна", "Петрова", "msk", "manager", False, 3.0, ""),
    ("boris", "Борис", "Иванов", "msk", "manager", False, 3.0, ""),
    ("oleg", "Олег", "Кузнецов", "spb", "head_of_sales", True, 1.0, ""),
    ("dmitry", "Дмитрий", "Соколов", "spb", "manager", False, 3.0, ""),
    ("elena", "Елена", "Попова", "spb", "manager", False, 3.0, "en"),
    ("irina", "Ирина", "Волкова", "service", "head_of_sales", True, 0.7, ""),
    ("sergey", "Сергей", "Морозов", "service", "manager", False, 1.5, ""),
    ("maria", "Мария", "Лебедева", "marketing", "marketer", True, 0.2, ""),
]
DEPARTMENTS = [  # key, name, parent key
    ("root", "Компания", None),
    ("msk", "Продажи Москва", "root"),
    ("spb", "Продажи СПб", "root"),
    ("service", "Сервис", "root"),
    ("marketing", "Маркетинг", "root"),
]
PIPELINES = [
    (
        "Продажи",
        [
            ("Новая", "open", 10),
            ("Квалификация", "open", 20),
            ("Предложение", "open", 40),
            ("Переговоры", "open", 70),
            ("Успешно", "won", 100),
            ("Проиграна", "lost", 0),
        ],
    ),
    (
        "Повторные продажи",
        [
            ("Новая", "open", 30),
            ("Предложение", "open", 60),
            ("Успешно", "won", 100),
            ("Проиграна", "lost", 0),
        ],
    ),
]
ACTIVITY_TITLES = {
    "call_in": "Входящий звонок",
    "call_out": "Исходящий звонок",
    "email_in": "Входящее письмо",
    "email_out": "Письмо",
    "meeting": "Встреча",
    "note": "Заметка",
    "message": "Сообщение",
}


def demo_loaded() -> bool:
    """The demo marker: the demo user exists."""
    return User.objects.filter(username=DEMO_USERNAME).exists()


def _money(value: Decimal) -> str:
    return f"{value:,.2f}".replace(",", "\u00a0").replace(".", ",") + "\u00a0₽"


def _inn10(rng: random.Random, region: str) -> str:
    """A 10-digit company INN with a correct check digit."""
    body = region + "".join(str(rng.randint(0, 9)) for _ in range(7))
    weights = [2, 4, 10, 3, 5, 9, 4, 6, 8]
    check = sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11 % 10
    return body + str(check)


def _inn12(rng: random.Random, region: str) -> str:
    """A 12-digit INN of a sole trader (ИП) with both check digits."""
    body = region + "".join(str(rng.randint(0, 9)) for _ in range(8))
    for weights in ([7, 2, 4, 10, 3, 5, 9, 4, 6, 8], [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]):
        body += str(sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11 % 10)
    return body


@dataclass
class Client:
    """A buyer: a company (with its people) or a private person."""

    company: Company | None
    contacts: list[Contact]
    owner: User
    city: str
    orders: list[Order] = field(default_factory=list)
    deals: list[Deal] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.company.name if self.company else self.contacts[0].full_name

    @property
    def contact(self) -> Contact | None:
        return self.contacts[0] if self.contacts else None


class DemoBuilder:
    def __init__(
        self, *, seed: int = 42, scale: float = 1.0, log: Callable[[str], None] | None = None
    ):
        self.rng = random.Random(seed)
        self.fake_ru = Faker("ru_RU")
        self.fake_ru.seed_instance(seed)
        self.fake_en = Faker("en_US")
        self.fake_en.seed_instance(seed + 1)
        self.scale = scale
        self.counts = {k: max(1, round(v * scale)) for k, v in BASE_COUNTS.items()}
        self.log = log or (lambda _msg: None)
        self.now = timezone.now().replace(microsecond=0)
        self.start = self.now - dt.timedelta(days=730)
        self.timeline: list[TimelineEntry] = []
        self._used_inn: set[str] = set()
        self._used_names: set[str] = set()

    # --- helpers ---------------------------------------------------------------------

    def _between(self, lo: dt.datetime, hi: dt.datetime) -> dt.datetime:
        if hi <= lo:
            return lo
        return lo + (hi - lo) * self.rng.random()

    def _work_hours(self, when: dt.datetime) -> dt.datetime:
        """Move a moment to 9:00–19:00 local time the same day (weekends to Friday)."""
        local = timezone.localtime(when)
        while local.weekday() >= 5:
            local -= dt.timedelta(days=1)
        local = local.replace(
            hour=self.rng.randint(9, 18),
            minute=self.rng.randint(0, 59),
            second=self.rng.randint(0, 59),
        )
        return min(local, self.now - dt.timedelta(minutes=self.rng.randint(5, 120)))

    def _recent_bias(self) -> dt.datetime:
        """A moment in the last two years, more of them recent (a growing business)."""
        return self.now - dt.timedelta(days=730) * (self.rng.random() ** 1.4)

    def _owner_weighted(self, pool: list[User]) -> User:
        return self.rng.choices(pool, weights=[self.owner_weight[u.username] for u in pool])[0]

    def _tl(
        self,
        *,
        kind: str,
        title: str,
        when: dt.datetime,
        actor: User | None,
        obj_type: str,
        obj_id: int | None,
        contact=None,
        company=None,
        deal=None,
        body: str = "",
        data: dict | None = None,
    ) -> None:
        self.timeline.append(
            TimelineEntry(
                kind=kind,
                title=title[:300],
                occurred_at=when,
                actor=actor,
                contact=contact,
                company=company,
                deal=deal,
                object_type=obj_type,
                object_id=obj_id,
                body=body,
                data=data or {},
            )
        )

    def _step(self, name: str, fn: Callable[[], int]) -> None:
        started = time.perf_counter()
        n = fn()
        self.log(f"  {name}: {n} ({time.perf_counter() - started:.1f} s)")

    # --- build -----------------------------------------------------------------------

    @transaction.atomic
    def build(self) -> dict[str, int]:
        self._step("users and departments", self._people)
        self._step("tags, pipelines, lost reasons", self._reference)
        self._step("products and price lists", self._catalog)
        self._step("companies", self._companies)
        self._step("contacts", self._contacts)
        self._step("deals", self._deals)
        self._step("orders", self._orders)
        self._step("activities", self._activities)
        self._step("tasks", self._followups)
        self._step("leads", self._leads)
        self._step("timeline entries", self._write_timeline)
        return {
            "users": User.objects.count(),
            "companies": Company.objects.count(),
            "contacts": Contact.objects.count(),
            "deals": Deal.objects.count(),
            "orders": Order.objects.count(),
            "activities": Activity.objects.count(),
            "tasks": Followup.objects.count(),
            "timeline": TimelineEntry.objects.count(),
        }

    def _people(self) -> int:
        depts: dict[str, Department] = {}
        for key, name, parent in DEPARTMENTS:
            depts[key] = Department.objects.create(
                name=name, parent=depts.get(parent) if parent else None
            )
        password = make_password(DEMO_PASSWORD)  # hashed once: PBKDF2 is slow by design
        self.users: dict[str, User] = {}
        self.owner_weight: dict[str, float] = {}
        roles = ensure_default_roles()
        for username, first, last, dept, role, is_head, weight, lang in USERS:
            user = User.objects.create(
                username=username,
                first_name=first,
                last_name=last,
                email=f"{username}@svyaz.example",
                password=password,
                department=depts[dept],
                language=lang,
                is_staff=username == DEMO_USERNAME,
                is_superuser=username == DEMO_USERNAME,
                phone=f"+7916{self.rng.randint(1000000, 9999999)}",
                date_joined=self.start - dt.timedelta(days=self.rng.randint(30, 400)),
            )
            user.roles.add(roles[role])
            self.users[username] = user
            self.owner_weight[username] = weight
            if is_head:
                depts[dept].head = user
                depts[dept].save(update_fields=["head"])
        self.depts = depts
        u = self.users
        self.pool_msk = [u["vera"], u["anna"], u["boris"]]
        self.pool_spb = [u["oleg"], u["dmitry"], u["elena"]]
        self.pool_other = [u["irina"], u["sergey"], u["maria"], u["demo"]]
        return len(self.users)

    def _reference(self) -> int:
        self.tags = Tag.objects.bulk_create([Tag(name=n, color=c) for n, c in V.TAGS])
        self.lost_reasons = LostReason.objects.bulk_create(
            [LostReason(name=n, position=i) for i, n in enumerate(V.LOST_REASONS)]
        )
        self.pipelines: list[Pipeline] = []
        self.stages: dict[int, dict[str, list[Stage]]] = {}
        for pos, (name, spec) in enumerate(PIPELINES):
            pipeline = Pipeline.objects.create(name=name, position=pos, is_default=pos == 0)
            stages = Stage.objects.bulk_create(
                [
                    Stage(pipeline=pipeline, name=s, kind=kind, probability=p, position=i)
                    for i, (s, kind, p) in enumerate(spec)
                ]
            )
            self.pipelines.append(pipeline)
            self.stages[pipeline.pk] = {
                "open": [s for s in stages if s.kind == StageKind.OPEN],
                "won": [s for s in stages if s.kind == StageKind.WON],
                "lost": [s for s in stages if s.kind == StageKind.LOST],
            }
        return len(self.tags) + len(self.lost_reasons) + len(self.pipelines)

    def _catalog(self) -> int:
        self.products = Product.objects.bulk_create(
            [
                Product(
                    name=name,
                    sku=f"SV-{i + 1:04d}",
                    unit=unit,
                    price=Decimal(price),
                    currency="RUB",
                )
                for i, (name, unit, price, _cat) in enumerate(V.PRODUCTS)
            ]
        )
        self.by_category: dict[str, list[tuple[Product, str]]] = defaultdict(list)
        for product, (_n, _u, _p, cat) in zip(self.products, V.PRODUCTS, strict=True):
            self.by_category[cat].append((product, cat))
        self.price_list = PriceList.objects.create(
            name="Базовый прайс-лист", currency="RUB", is_default=True
        )
        wholesale = PriceList.objects.create(name="Оптовый прайс-лист", currency="RUB")
        PriceListItem.objects.bulk_create(
            [
                PriceListItem(price_list=self.price_list, product=p, price=p.price)
                for p in self.products
            ]
            + [
                PriceListItem(
                    price_list=wholesale, product=p, price=(p.price * Decimal("0.9")).quantize(CENT)
                )
                for p in self.products
            ]
        )
        return len(self.products)

    def _company_name(self, english: bool, foreign: bool = False) -> tuple[str, str]:
        name = legal = "ООО «Компания»"
        for _attempt in range(20):
            if english:
                brand = f"{self.rng.choice(V.EN_BRANDS)} {self.rng.choice(V.EN_TAILS)}"
                form = self.rng.choice(V.EN_FORMS) if foreign else "ООО"
                name, legal = brand, f"{brand} {form}" if foreign else f"ООО «{brand}»"
            elif self.rng.random() < 0.7:
                brand = self.rng.choice(V.BRAND_HEADS) + self.rng.choice(V.BRAND_TAILS).lower()
                form = self.rng.choice(V.COMPANY_FORMS)
                if form == "ИП":
                    person = f"{self.fake_ru.last_name_male()} {self.fake_ru.first_name_male()[0]}."
                    name, legal = f"ИП {person}", f"ИП {person}"
                else:
                    name, legal = f"{form} «{brand}»", f"{form} «{brand}»"
            else:
                legal = self.fake_ru.company()
                if "«" not in legal:  # skip Faker's "Иванов Инк"-style names
                    continue
                name = legal
            if name not in self._used_names:
                self._used_names.add(name)
                return name, legal
        name = f"{name} {len(self._used_names)}"
        self._used_names.add(name)
        return name, legal

    def _ru_landline(self, area: str) -> str:
        rest = 10 - len(area)
        return f"+7{area}{self.rng.randint(2, 9)}{self.rng.randint(0, 10 ** (rest - 1) - 1):0{rest - 1}d}"

    def _ru_mobile(self) -> str:
        return f"+79{self.rng.choice(V.MOBILE_CODES)}{self.rng.randint(0, 9999999):07d}"

    def _phone(self, number: str, *, kind: str, primary: bool, contact=None, company=None) -> Phone:
        e164 = normalize_phone(number)
        return Phone(
            number=e164,
            digits=phone_digits(e164),
            kind=kind,
            is_primary=primary,
            contact=contact,
            company=company,
        )

    def _companies(self) -> int:
        rng = self.rng
        city_weights = [c[5] for c in V.CITIES]
        companies, meta = [], []
        for _ in range(self.counts["companies"]):
            foreign = rng.random() < 0.05
            english = foreign or rng.random() < 0.1
            name, legal = self._company_name(english, foreign)
            if foreign:
                country, cities, prefix, areas, tax = rng.choice(V.FOREIGN)
                city, region = rng.choice(cities), ""
                owner = self._owner_weighted(self.pool_msk + self.pool_other)
                inn = kpp = ""
                tax_id = f"{tax}{rng.randint(100000000, 999999999)}"
                area = rng.choice(areas)
                phone = f"{prefix}{area}{rng.randint(2, 9)}{rng.randint(0, 10 ** (9 - len(area)) - 1):0{9 - len(area)}d}"
                postcode, street = str(rng.randint(10000, 99999)), self.fake_en.street_address()
            else:
                city, region, code, areas, post, _w = rng.choices(V.CITIES, weights=city_weights)[0]
                country = "RU"
                pool = self.pool_spb if city == "Санкт-Петербург" else self.pool_msk
                owner = self._owner_weighted(pool if rng.random() < 0.88 else self.pool_other)
                sole_trader = name.startswith("ИП ")
                make_inn = _inn12 if sole_trader else _inn10
                inn = make_inn(rng, code)
                while inn in self._used_inn:
                    inn = make_inn(rng, code)
                self._used_inn.add(inn)
                kpp = "" if sole_trader else f"{code}{rng.randint(1, 40):02d}01001"
                tax_id = ""
                phone = self._ru_landline(rng.choice(areas))
                postcode = post + "".join(str(rng.randint(0, 9)) for _ in range(6 - len(post)))
                street = self.fake_ru.street_address()
            if "«" in name:
                brand = name.split("«")[-1].rstrip("»").split()[-1]
            else:
                brand = name.split()[1] if name.startswith("ИП ") else name.split()[0]
            domain = (
                V.translit(brand) or "company"
            ) + f"{rng.randint(1, 99) if rng.random() < 0.3 else ''}"
            domain += ".com" if foreign else ".ru"
            company = Company(
                name=name,
                legal_name=legal,
                country=country,
                inn=inn,
                kpp=kpp,
                tax_id=tax_id,
                industry_code=rng.choice(V.OKVED),
                website=f"https://{domain}",
                source=rng.choices(
                    [s.value for s in Source], weights=[20, 10, 15, 8, 12, 5, 8, 10, 10, 2]
                )[0],
                owner=owner,
                department_id=owner.department_id,
                created_at=self.start
                - dt.timedelta(days=rng.randint(0, 900), minutes=rng.randint(0, 600)),
            )
            companies.append(company)
            meta.append((city, region, country, postcode, street, phone, domain, english))
        Company.objects.bulk_create(companies, batch_size=BATCH)

        phones, emails, addresses, tag_rows = [], [], [], []
        self.clients: list[Client] = []
        self.company_domain: dict[int, str] = {}
        self.company_english: dict[int, bool] = {}
        Through = Company.tags.through
        for company, (city, region, country, postcode, street, phone, domain, english) in zip(
            companies, meta, strict=True
        ):
            phones.append(self._phone(phone, kind=PhoneKind.WORK, primary=True, company=company))
            if rng.random() < 0.3 and country == "RU":
                phones.append(
                    self._phone(
                        self._ru_landline(phone[2:5]),
                        kind=PhoneKind.WORK,
                        primary=False,
                        company=company,
                    )
                )
            emails.append(
                Email(email=f"info@{domain}", kind=EmailKind.WORK, is_primary=True, company=company)
            )
            if rng.random() < 0.5:
                emails.append(
                    Email(
                        email=f"{rng.choice(['sales', 'zakupki', 'buh', 'office'])}@{domain}",
                        kind=EmailKind.WORK,
                        company=company,
                    )
                )
            addresses.append(
                Address(
                    company=company,
                    kind=AddressKind.LEGAL,
                    country=country,
                    region=region,
                    city=city,
                    street=street,
                    postal_code=postcode,
                )
            )
            if rng.random() < 0.25:
                for tag in rng.sample(self.tags, rng.randint(1, 2)):
                    tag_rows.append(Through(company_id=company.pk, tag_id=tag.pk))
            self.company_domain[company.pk] = domain
            self.company_english[company.pk] = english
            self.clients.append(
                Client(company=company, contacts=[], owner=company.owner, city=city)
            )
        Phone.objects.bulk_create(phones, batch_size=BATCH)
        Email.objects.bulk_create(emails, batch_size=BATCH)
        Address.objects.bulk_create(addresses, batch_size=BATCH)
        Through.objects.bulk_create(tag_rows, batch_size=BATCH)
        return len(companies)

    def _person(self, english: bool) -> tuple[str, str, str]:
        if english:
            return self.fake_en.first_name(), "", self.fake_en.last_name()
        if self.rng.random() < 0.5:
            f = self.fake_ru
            return f.first_name_male(), f.middle_name_male(), f.last_name_male()
        f = self.fake_ru
        return f.first_name_female(), f.middle_name_female(), f.last_name_female()

    def _contacts(self) -> int:
        rng = self.rng
        company_clients = list(self.clients)
        contacts, links, plan = [], [], []
        for _ in range(self.counts["contacts"]):
            r = rng.random()
            if r < 0.15 or not company_clients:
                clients_of = []
            elif r < 0.25 and len(company_clients) > 1:
                clients_of = rng.sample(company_clients, 2)
            else:
                clients_of = [rng.choice(company_clients)]
            english = (
                self.company_english[clients_of[0].company.pk] if clients_of else False
            ) or rng.random() < 0.05
            first, middle, last = self._person(english)
            title, role = rng.choice(V.EN_JOBS if english else V.RU_JOBS)
            owner = (
                clients_of[0].owner
                if clients_of
                else self._owner_weighted(self.pool_msk + self.pool_spb + self.pool_other)
            )
            contact = Contact(
                first_name=first,
                middle_name=middle,
                last_name=last,
                full_name=" ".join(p for p in (last, first, middle) if p),
                job_title=title if clients_of else "",
                birthday=dt.date(rng.randint(1960, 2000), rng.randint(1, 12), rng.randint(1, 28))
                if rng.random() < 0.3
                else None,
                source=rng.choice([s.value for s in Source][:7]),
                owner=owner,
                department_id=owner.department_id,
                created_at=self.start
                - dt.timedelta(days=rng.randint(0, 700), minutes=rng.randint(0, 600)),
            )
            contacts.append(contact)
            plan.append((clients_of, role, english))
        Contact.objects.bulk_create(contacts, batch_size=BATCH)

        phones, emails, addresses, tag_rows = [], [], [], []
        Through = Contact.tags.through
        for contact, (clients_of, role, english) in zip(contacts, plan, strict=True):
            for i, client in enumerate(clients_of):
                links.append(
                    ContactCompany(
                        contact=contact, company=client.company, role=role, is_primary=i == 0
                    )
                )
                client.contacts.append(contact)
            if not clients_of:
                self.clients.append(
                    Client(
                        company=None,
                        contacts=[contact],
                        owner=contact.owner,
                        city=rng.choice(V.CITIES)[0],
                    )
                )
                if rng.random() < 0.5:
                    city, region, _code, _a, post, _w = rng.choice(V.CITIES)
                    addresses.append(
                        Address(
                            contact=contact,
                            kind=AddressKind.HOME,
                            country="RU",
                            region=region,
                            city=city,
                            street=self.fake_ru.street_address(),
                            postal_code=post
                            + "".join(str(rng.randint(0, 9)) for _ in range(6 - len(post))),
                        )
                    )
            phones.append(
                self._phone(self._ru_mobile(), kind=PhoneKind.MOBILE, primary=True, contact=contact)
            )
            if rng.random() < 0.35:
                second = (
                    self._ru_landline(rng.choice(["495", "812", "343", "383"]))
                    if clients_of
                    else self._ru_mobile()
                )
                phones.append(
                    self._phone(
                        second,
                        kind=PhoneKind.WORK if clients_of else PhoneKind.MOBILE,
                        primary=False,
                        contact=contact,
                    )
                )
            first, last = contact.first_name, contact.last_name
            login = (
                V.translit(first)[:1] + "." + V.translit(last)
                if not english
                else ("".join(ch for ch in f"{first}.{last}".lower() if ch.isalnum() or ch == "."))
            )
            login = login.strip(".") or f"user{contact.pk}"
            if clients_of:
                emails.append(
                    Email(
                        email=f"{login}@{self.company_domain[clients_of[0].company.pk]}",
                        kind=EmailKind.WORK,
                        is_primary=True,
                        contact=contact,
                    )
                )
            if not clients_of or rng.random() < 0.3:
                emails.append(
                    Email(
                        email=f"{login.replace('.', '')}{rng.randint(1, 999)}@{rng.choice(V.FREE_MAIL)}",
                        kind=EmailKind.PERSONAL,
                        is_primary=not clients_of,
                        contact=contact,
                    )
                )
            if rng.random() < 0.1:
                tag_rows.append(Through(contact_id=contact.pk, tag_id=rng.choice(self.tags).pk))
        ContactCompany.objects.bulk_create(links, batch_size=BATCH)
        Phone.objects.bulk_create(phones, batch_size=BATCH)
        Email.objects.bulk_create(emails, batch_size=BATCH)
        Address.objects.bulk_create(addresses, batch_size=BATCH)
        Through.objects.bulk_create(tag_rows, batch_size=BATCH)
        return len(contacts)

    def _pick_lines(self, categories: list[str], n: int) -> list[tuple[Product, Decimal]]:
        """Products from the categories with a quantity that suits each."""
        choices = [pc for cat in categories for pc in self.by_category[cat]]
        out = []
        for product, cat in self.rng.sample(choices, min(n, len(choices))):
            qty = {
                "hw": (1, 25),
                "srv": (1, 3),
                "net": (1, 8),
                "sw": (1, 50),
                "svc": (1, 60),
                "sub": (1, 12),
                "supply": (2, 40),
            }[cat]
            if product.unit != "час" and cat == "svc":
                qty = (1, 2)
            out.append((product, Decimal(self.rng.randint(*qty))))
        return out

    def _deals(self) -> int:
        rng = self.rng
        deals, plans = [], []
        b2b, repeat = self.pipelines
        for i in range(self.counts["deals"]):
            is_repeat = i % 10 < 3
            pipeline = repeat if is_repeat else b2b
            client = rng.choice(self.clients)
            topic, cats = rng.choice(V.REPEAT_TOPICS if is_repeat else V.DEAL_TOPICS)
            created = self._work_hours(self._recent_bias() - dt.timedelta(days=rng.randint(0, 5)))
            created = max(created, self.start)
            age = (self.now - created).days
            won_p, lost_p = (
                (0.40, 0.45) if age > 120 else (0.25, 0.25) if age > 30 else (0.05, 0.10)
            )
            r = rng.random()
            outcome = "won" if r < won_p else "lost" if r < won_p + lost_p else "open"
            stages = self.stages[pipeline.pk]
            opens = stages["open"]
            if outcome == "open":
                k = rng.choices(range(len(opens)), weights=[4, 3, 2, 2][: len(opens)])[0]
                path = opens[: k + 1]
            elif outcome == "won":
                path = [opens[0]] + [s for s in opens[1:] if rng.random() < 0.8] + stages["won"]
            else:
                path = opens[: rng.randint(1, len(opens))] + stages["lost"]
            # Closed deals close within 5–150 days; open ones last moved some time ago (stale
            # ones too, as in real pipelines).
            if outcome == "open":
                end = self._between(
                    created + (self.now - created) * 0.4, self.now - dt.timedelta(hours=1)
                )
            else:
                end = min(
                    created + dt.timedelta(days=rng.randint(5, 150)),
                    self.now - dt.timedelta(hours=1),
                )
            end = max(end, created + dt.timedelta(minutes=len(path)))
            moves = sorted(self._between(created, end) for _ in range(len(path) - 1))
            times = [created, *moves]
            if outcome != "open" and len(times) > 1:
                times[-1] = end
            lines = self._pick_lines(cats, rng.randint(1, 3))
            discount = rng.choice([Decimal("0"), Decimal("0"), Decimal("5"), Decimal("10")])
            amount = sum(((p.price * q) * (100 - discount) / 100).quantize(CENT) for p, q in lines)
            final = path[-1]
            title = f"{topic} — {client.name}"
            deal = Deal(
                title=title[:255],
                pipeline=pipeline,
                stage=final,
                amount=amount,
                currency="RUB",
                expected_close=(
                    times[-1]
                    if outcome != "open"
                    else created + dt.timedelta(days=rng.randint(20, 120))
                ).date(),
                probability=final.probability,
                contact=client.contact,
                company=client.company,
                price_list=self.price_list,
                lost_reason=rng.choice(self.lost_reasons) if outcome == "lost" else None,
                lost_comment=rng.choice(
                    ["", "", "Ушли к конкуренту с ценой на 12% ниже", "Бюджет заморожен"]
                )
                if outcome == "lost"
                else "",
                stage_changed_at=times[-1],
                closed_at=times[-1] if outcome != "open" else None,
                is_repeat=is_repeat,
                owner=client.owner,
                department_id=client.owner.department_id,
                created_at=created,
            )
            deals.append(deal)
            plans.append((client, path, times, lines, discount, outcome))
        Deal.objects.bulk_create(deals, batch_size=BATCH)

        lines_rows, changes, tag_rows, won_orders = [], [], [], []
        Through = Deal.tags.through
        for deal, (client, path, times, lines, discount, outcome) in zip(deals, plans, strict=True):
            client.deals.append(deal)
            for product, qty in lines:
                lines_rows.append(
                    DealLine(
                        deal=deal,
                        product=product,
                        name=product.name,
                        quantity=qty,
                        price=product.price,
                        discount_percent=discount,
                    )
                )
            subjects = {"contact": client.contact, "company": client.company, "deal": deal}
            self._tl(
                kind=TimelineKind.DEAL,
                title=f"Новая сделка: {deal.title}",
                when=times[0],
                actor=deal.owner,
                obj_type="deal",
                obj_id=deal.pk,
                data={"amount": str(deal.amount), "currency": "RUB"},
                **subjects,
            )
            prev = None
            for stage, when in zip(path, times, strict=True):
                changes.append(
                    DealStageChange(
                        deal=deal,
                        from_stage=prev,
                        to_stage=stage,
                        changed_at=when,
                        changed_by=deal.owner,
                        seconds_in_from=int((when - changes[-1].changed_at).total_seconds())
                        if prev
                        else None,
                    )
                )
                if prev is not None:
                    title = f"Этап: {prev.name} → {stage.name}"
                    if stage.kind == StageKind.LOST and deal.lost_reason:
                        title += f" ({deal.lost_reason.name})"
                    self._tl(
                        kind=TimelineKind.STAGE,
                        title=title,
                        when=when,
                        actor=deal.owner,
                        obj_type="deal",
                        obj_id=deal.pk,
                        data={"from": prev.pk, "to": stage.pk},
                        **subjects,
                    )
                prev = stage
            if rng.random() < 0.15:
                tag_rows.append(Through(deal_id=deal.pk, tag_id=rng.choice(self.tags).pk))
            if outcome == "won":
                won_orders.append(
                    (
                        client,
                        deal,
                        times[-1],
                        [
                            (p, q, (p.price * (100 - discount) / 100).quantize(CENT))
                            for p, q in lines
                        ],
                    )
                )
        DealLine.objects.bulk_create(lines_rows, batch_size=BATCH)
        DealStageChange.objects.bulk_create(changes, batch_size=BATCH)
        Through.objects.bulk_create(tag_rows, batch_size=BATCH)
        self.won_orders = won_orders
        return len(deals)

    def _orders(self) -> int:
        """Won deals' orders plus the purchase history: one-time, repeat and lapsed buyers."""
        rng = self.rng
        plan: list[tuple[Client, Deal | None, dt.datetime, list]] = list(self.won_orders)
        remaining = max(0, self.counts["orders"] - len(plan))
        candidates = [c for c in self.clients if c.contacts or c.company]
        rng.shuffle(candidates)
        buyers = candidates[: max(3, int(len(candidates) * 0.45))]
        n = len(buyers)
        one_time, lapsed = buyers[: int(n * 0.35)], buyers[int(n * 0.35) : int(n * 0.5)]
        repeat = buyers[int(n * 0.5) :] or buyers[-1:]
        old_end = self.now - dt.timedelta(days=400)

        def basket() -> list:
            cats = rng.choice(
                [["supply"], ["sub"], ["sw"], ["hw"], ["hw", "supply"], ["svc"], ["net"]]
            )
            return [(p, q, p.price) for p, q in self._pick_lines(cats, rng.randint(1, 3))]

        for client in one_time:
            if remaining <= 0:
                break
            plan.append(
                (client, None, self._work_hours(self._between(self.start, self.now)), basket())
            )
            remaining -= 1
        for client in lapsed:
            for _ in range(rng.randint(1, 4)):
                if remaining <= 0:
                    break
                plan.append(
                    (client, None, self._work_hours(self._between(self.start, old_end)), basket())
                )
                remaining -= 1
        weights = [rng.paretovariate(1.6) for _ in repeat]
        total = sum(weights)
        for client, w in zip(repeat, weights, strict=True):
            k = max(2, round(remaining * w / total)) if remaining > 0 else 0
            if k == 0:
                continue
            first = self._between(self.start, self.now - dt.timedelta(days=200))
            last = self._between(self.now - dt.timedelta(days=120), self.now)
            for j in range(k):
                when = first if j == 0 else last if j == k - 1 else self._between(first, last)
                plan.append((client, None, self._work_hours(when), basket()))
        plan.sort(key=lambda p: p[2])

        orders = []
        for seq, (client, deal, when, lines) in enumerate(plan, start=1):
            amount = sum((price * qty).quantize(CENT) for _p, qty, price in lines)
            fresh = (self.now - when).days < 14
            status = (
                rng.choice(
                    [OrderStatus.NEW, OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED]
                )
                if fresh
                else OrderStatus.CANCELLED
                if rng.random() < 0.03
                else OrderStatus.COMPLETED
            )
            owner = deal.owner if deal else client.owner
            orders.append(
                Order(
                    number=f"{timezone.localtime(when).year}-{seq:05d}",
                    contact=client.contact,
                    company=client.company,
                    deal=deal,
                    ordered_at=when,
                    amount=amount,
                    currency="RUB",
                    status=status,
                    owner=owner,
                    department_id=owner.department_id,
                    created_at=when,
                )
            )
        Order.objects.bulk_create(orders, batch_size=BATCH)
        order_lines = []
        for order, (client, deal, when, lines) in zip(orders, plan, strict=True):
            client.orders.append(order)
            for product, qty, price in lines:
                order_lines.append(
                    OrderLine(
                        order=order, product=product, name=product.name, quantity=qty, price=price
                    )
                )
            self._tl(
                kind=TimelineKind.ORDER,
                title=f"Заказ № {order.number} на {_money(order.amount)}",
                when=when,
                actor=order.owner,
                obj_type="order",
                obj_id=order.pk,
                contact=client.contact,
                company=client.company,
                deal=deal,
                data={"amount": str(order.amount), "currency": "RUB", "status": order.status},
            )
        OrderLine.objects.bulk_create(order_lines, batch_size=BATCH)
        return len(orders)

    def _activity(
        self,
        client: Client,
        when: dt.datetime,
        deal: Deal | None,
        kind: str | None = None,
        owner: User | None = None,
    ) -> Activity:
        rng = self.rng
        kind = (
            kind
            or rng.choices(
                ["call", "email", "meeting", "note", "message"], weights=[45, 25, 8, 15, 7]
            )[0]
        )
        owner = owner or (
            client.owner
            if rng.random() < 0.9
            else self._owner_weighted(self.pool_msk + self.pool_spb)
        )
        contact = rng.choice(client.contacts) if client.contacts else None
        a = Activity(
            kind=kind,
            occurred_at=when,
            contact=contact,
            company=client.company,
            deal=deal,
            owner=owner,
            department_id=owner.department_id,
            created_at=when,
        )
        if kind == "call":
            a.direction = Direction.OUTBOUND if rng.random() < 0.65 else Direction.INBOUND
            outcomes = [
                CallOutcome.ANSWERED,
                CallOutcome.NO_ANSWER,
                CallOutcome.BUSY,
                CallOutcome.CALLBACK,
                CallOutcome.VOICEMAIL,
                CallOutcome.MISSED,
            ]
            weights = [60, 15, 5, 10, 5, 5 if a.direction == Direction.INBOUND else 0]
            a.outcome = rng.choices(outcomes, weights=weights)[0]
            a.duration_seconds = (
                int(min(3600, rng.lognormvariate(5.3, 0.8)))
                if a.outcome == CallOutcome.ANSWERED
                else rng.randint(20, 90)
                if a.outcome == CallOutcome.CALLBACK
                else 0
            )
            a.channel = "phone"
            a.subject = rng.choice(V.CALL_SUBJECTS)
            a.body = rng.choice(V.CALL_BODIES) if a.outcome == CallOutcome.ANSWERED else ""
        elif kind == "email":
            a.direction = Direction.OUTBOUND if rng.random() < 0.6 else Direction.INBOUND
            a.channel = "email"
            a.subject = rng.choice(V.EMAIL_SUBJECTS)
            a.body = "Добрый день!\n\nНаправляем документы во вложении.\n\nС уважением."
        elif kind == "meeting":
            a.channel = rng.choice(["in_person", "video"])
            a.subject = rng.choice(V.MEETING_SUBJECTS)
            a.duration_seconds = rng.choice([1800, 2700, 3600, 5400])
        elif kind == "note":
            a.body = rng.choice(V.NOTE_BODIES)
        else:
            a.direction = rng.choice([Direction.INBOUND, Direction.OUTBOUND])
            a.channel = rng.choice(["telegram", "whatsapp"])
            a.body = rng.choice(V.MESSAGE_BODIES)
        return a

    def _activity_title(self, a: Activity) -> str:
        key = f"{a.kind}_{a.direction}" if a.kind in ("call", "email") else a.kind
        head = ACTIVITY_TITLES.get(key, "Активность")
        text = a.subject or a.body.split("\n")[0]
        return f"{head}: {text}" if text else head

    def _activities(self) -> int:
        rng = self.rng
        # Buyers and clients with deals are talked to more often.
        weights = [1 + 2 * bool(c.deals) + min(len(c.orders), 5) for c in self.clients]
        activities = []
        for _ in range(self.counts["activities"]):
            client = rng.choices(self.clients, weights=weights)[0]
            deal = rng.choice(client.deals) if client.deals and rng.random() < 0.5 else None
            if deal is not None:
                when = self._between(deal.created_at, deal.closed_at or self.now)
            else:
                when = self._recent_bias()
            activities.append(self._activity(client, self._work_hours(when), deal))
        Activity.objects.bulk_create(activities, batch_size=BATCH)
        self._activity_timeline(activities)
        return len(activities)

    def _activity_timeline(self, activities: list[Activity]) -> None:
        for a in activities:
            self._tl(
                kind=TimelineKind.ACTIVITY,
                title=self._activity_title(a),
                when=a.occurred_at,
                actor=a.owner,
                obj_type="activity",
                obj_id=a.pk,
                contact=a.contact,
                company=a.company,
                deal=a.deal,
                body=a.body,
                data={
                    "kind": a.kind,
                    "direction": a.direction,
                    "outcome": a.outcome,
                    "duration": a.duration_seconds,
                },
            )

    def _followups(self) -> int:
        rng = self.rng
        local_now = timezone.localtime(self.now)
        day_end = local_now.replace(hour=23, minute=30, second=0)
        day_start = local_now.replace(hour=9, minute=0, second=0)
        by_owner: dict[int, list[Client]] = defaultdict(list)
        for c in self.clients:
            by_owner[c.owner.pk].append(c)
        tasks: list[tuple[Followup, Client]] = []
        callbacks_calls: list[tuple[Followup, Activity]] = []

        def client_for(user: User) -> Client:
            own = by_owner.get(user.pk)
            return rng.choice(own) if own else rng.choice(self.clients)

        def task(
            user: User, due: dt.datetime, *, kind=FollowupKind.TASK, done=False, title=None
        ) -> Followup:
            client = client_for(user)
            deal = rng.choice(client.deals) if client.deals and rng.random() < 0.4 else None
            created = min(
                due - dt.timedelta(days=rng.randint(1, 10)), self.now - dt.timedelta(minutes=10)
            )
            remind = due - dt.timedelta(minutes=30) if rng.random() < 0.5 else None
            f = Followup(
                kind=kind,
                title=title or rng.choice(V.TASK_TITLES),
                assignee=user,
                due_at=due,
                priority=rng.choices(
                    [Priority.LOW, Priority.NORMAL, Priority.HIGH], weights=[2, 6, 2]
                )[0],
                remind_at=remind,
                # Reminders in the past count as sent, so the first scheduler run is quiet.
                reminded_at=remind if remind and remind < self.now else None,
                status=FollowupStatus.DONE if done else FollowupStatus.OPEN,
                completed_at=min(due + dt.timedelta(hours=rng.randint(-48, 24)), self.now)
                if done
                else None,
                result=rng.choice(V.TASK_RESULTS) if done else "",
                contact=client.contact,
                company=client.company,
                deal=deal,
                owner=user,
                department_id=user.department_id,
                created_at=created,
            )
            tasks.append((f, client))
            return f

        for user in self.users.values():
            for _ in range(rng.randint(2, 4)):  # due later today
                lo = max(local_now + dt.timedelta(minutes=30), day_start)
                task(user, self._between(lo, max(lo, day_end)).replace(second=0))
            for _ in range(rng.randint(2, 5)):  # overdue
                task(user, self._work_hours(self.now - dt.timedelta(days=rng.randint(1, 10))))
            for _ in range(rng.randint(3, 6)):  # upcoming
                due = self.now + dt.timedelta(days=rng.randint(1, 14))
                task(
                    user,
                    timezone.localtime(due).replace(hour=rng.randint(9, 18), minute=0, second=0),
                )
            for _ in range(rng.randint(8, 15)):  # done
                task(
                    user,
                    self._work_hours(self.now - dt.timedelta(days=rng.randint(1, 300))),
                    done=True,
                )
            for i in range(rng.randint(2, 3)):  # callbacks promised on a call
                client = client_for(user)
                call_at = self._work_hours(self.now - dt.timedelta(days=rng.randint(0, 2)))
                call = self._activity(client, call_at, None, kind="call", owner=user)
                call.direction, call.outcome = Direction.OUTBOUND, CallOutcome.CALLBACK
                call.duration_seconds, call.subject = rng.randint(20, 90), "Просили перезвонить"
                call.body = "Клиент занят, просил перезвонить."
                due = (call_at + dt.timedelta(days=1)).replace(hour=rng.randint(10, 17), minute=0)
                if i == 0:  # at least one is due today
                    due = self._between(
                        max(local_now + dt.timedelta(minutes=20), day_start),
                        max(local_now + dt.timedelta(minutes=20), day_end),
                    ).replace(second=0)
                who = call.contact.full_name if call.contact else client.name
                f = task(user, due, kind=FollowupKind.CALLBACK, title=f"Перезвонить: {who}")
                f.contact, f.company, f.deal = call.contact, call.company, None
                callbacks_calls.append((f, call))
        calls = [c for _f, c in callbacks_calls]
        Activity.objects.bulk_create(calls)
        self._activity_timeline(calls)
        for f, call in callbacks_calls:
            f.source_activity = call
            f.created_at = call.occurred_at
        Followup.objects.bulk_create([f for f, _c in tasks], batch_size=BATCH)
        for f, _client in tasks:
            subjects = {"contact": f.contact, "company": f.company, "deal": f.deal}
            label = "Обратный звонок" if f.kind == FollowupKind.CALLBACK else "Задача"
            self._tl(
                kind=TimelineKind.FOLLOWUP,
                title=f"{label}: {f.title}",
                when=f.created_at,
                actor=f.owner,
                obj_type="followup",
                obj_id=f.pk,
                data={"due_at": f.due_at.isoformat()},
                **subjects,
            )
            if f.status == FollowupStatus.DONE:
                self._tl(
                    kind=TimelineKind.FOLLOWUP,
                    title=f"Выполнено: {f.title}",
                    when=f.completed_at,
                    actor=f.assignee,
                    obj_type="followup",
                    obj_id=f.pk,
                    body=f.result,
                    **subjects,
                )
        return len(tasks)

    def _leads(self) -> int:
        rng = self.rng
        leads = []
        recent_deals = sorted(
            (d for c in self.clients for d in c.deals if d.contact_id and not d.is_repeat),
            key=lambda d: d.created_at,
            reverse=True,
        )
        converted = recent_deals[: max(1, self.counts["leads"] // 5)]
        for deal in converted:
            contact = deal.contact
            leads.append(
                Lead(
                    title=rng.choice(V.LEAD_TITLES),
                    first_name=contact.first_name,
                    last_name=contact.last_name,
                    company_name=deal.company.name if deal.company else "",
                    source=Source.WEB_FORM,
                    channel=Channel.WEB,
                    status=LeadStatus.CONVERTED,
                    contact=contact,
                    company=deal.company,
                    deal=deal,
                    converted_at=deal.created_at,
                    owner=deal.owner,
                    department_id=deal.owner.department_id,
                    created_at=deal.created_at - dt.timedelta(hours=rng.randint(1, 48)),
                )
            )
        for _ in range(self.counts["leads"] - len(converted)):
            english = rng.random() < 0.1
            first, _middle, last = self._person(english)
            owner = self._owner_weighted(self.pool_msk + self.pool_spb)
            source = rng.choice(
                [Source.WEB_FORM, Source.CALL, Source.EMAIL, Source.ADVERTISING, Source.EXHIBITION]
            )
            channel = {
                Source.WEB_FORM: Channel.WEB,
                Source.CALL: Channel.PHONE,
                Source.EMAIL: Channel.EMAIL,
                Source.ADVERTISING: Channel.WEB,
                Source.EXHIBITION: Channel.IN_PERSON,
            }[source]
            web = channel == Channel.WEB
            status = rng.choices(
                [LeadStatus.NEW, LeadStatus.IN_PROGRESS, LeadStatus.DISQUALIFIED], weights=[5, 4, 1]
            )[0]
            leads.append(
                Lead(
                    title=rng.choice(V.LEAD_TITLES),
                    first_name=first,
                    last_name=last,
                    company_name=self._company_name(english)[0] if rng.random() < 0.7 else "",
                    phone=self._ru_mobile(),
                    email=f"{V.translit(last) or 'lead'}{rng.randint(1, 99)}@{rng.choice(V.FREE_MAIL)}",
                    source=source,
                    channel=channel,
                    status=status,
                    utm_source=rng.choice(["yandex", "google", "vk"]) if web else "",
                    utm_medium="cpc" if web else "",
                    utm_campaign="it_autumn" if web else "",
                    owner=owner,
                    department_id=owner.department_id,
                    created_at=self.now - dt.timedelta(hours=rng.randint(1, 24 * 45)),
                )
            )
        Lead.objects.bulk_create(leads, batch_size=BATCH)
        for lead in leads[: len(converted)]:
            self._tl(
                kind=TimelineKind.LEAD,
                title=f"Заявка: {lead.title}",
                when=lead.created_at,
                actor=lead.owner,
                obj_type="lead",
                obj_id=lead.pk,
                contact=lead.contact,
                company=lead.company,
                deal=lead.deal,
            )
        return len(leads)

    def _write_timeline(self) -> int:
        TimelineEntry.objects.bulk_create(self.timeline, batch_size=BATCH)
        return len(self.timeline)
