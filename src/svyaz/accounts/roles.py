"""The vocabulary of access: which entity a model is, which fields a role may hide, and the
roles Svyaz ships with (issue #3).

Grants live on `accounts.Role` (JSON, one matrix per role); `core.scoping` evaluates them.
"""

from __future__ import annotations

from svyaz.accounts.models import Action, Entity, Scope

# Model label → entity. Models not listed here are not business records of their own and
# are reached only through their parent (lines, phones, stage changes…).
MODEL_ENTITY: dict[str, str] = {
    "contacts.company": Entity.COMPANIES,
    "contacts.contact": Entity.CONTACTS,
    "sales.lead": Entity.LEADS,
    "sales.deal": Entity.DEALS,
    "activities.activity": Entity.ACTIVITIES,
    "followups.followup": Entity.TASKS,
    "sales.order": Entity.ORDERS,
    "sales.product": Entity.PRODUCTS,
}

# Entity → custom-field entity code (core.CustomField.entity).
CUSTOM_FIELD_ENTITY = {
    Entity.COMPANIES: "company",
    Entity.CONTACTS: "contact",
    Entity.LEADS: "lead",
    Entity.DEALS: "deal",
    Entity.ORDERS: "order",
}

# Fields a role may hide or make read-only, per entity (plus every custom field, "cf_<code>").
# Identity fields (names, titles) and the access columns (owner, department) are never
# hidden: a record without its name cannot be worked with, and scoping needs the owner.
RULABLE_FIELDS: dict[str, tuple[str, ...]] = {
    Entity.COMPANIES: (
        "legal_name",
        "inn",
        "kpp",
        "tax_id",
        "industry_code",
        "website",
        "source",
        "description",
        "phones",
        "emails",
    ),
    Entity.CONTACTS: ("job_title", "birthday", "source", "description", "phones", "emails"),
    Entity.LEADS: ("phone", "email", "company_inn", "source", "description"),
    Entity.DEALS: ("amount", "probability", "expected_close", "price_list", "lost_comment"),
    Entity.ORDERS: ("amount",),
    Entity.PRODUCTS: ("price",),
    Entity.ACTIVITIES: ("body",),
    Entity.TASKS: ("description", "result"),
}


def entity_of_model(model) -> str | None:
    return MODEL_ENTITY.get(model._meta.label_lower)


def field_rule_choices(entity: str) -> set[str] | None:
    """The field names a role may rule for `entity` (None: no such entity)."""
    if entity not in RULABLE_FIELDS:
        return None
    names = set(RULABLE_FIELDS[entity])
    cf_entity = CUSTOM_FIELD_ENTITY.get(entity)
    if cf_entity:
        from svyaz.core.models import CustomField

        names.update(
            f"cf_{code}"
            for code in CustomField.objects.filter(entity=cf_entity).values_list("code", flat=True)
        )
    return names


def _matrix(scope_by_action: dict[str, str], entities) -> dict[str, dict[str, str]]:
    return {str(e): {str(a): str(s) for a, s in scope_by_action.items()} for e in entities}


_RECORDS = (
    Entity.COMPANIES,
    Entity.CONTACTS,
    Entity.LEADS,
    Entity.DEALS,
    Entity.ACTIVITIES,
    Entity.TASKS,
    Entity.ORDERS,
)
_ALL_ACTIONS = [a.value for a in Action]


def _everything(scope: str, entities=_RECORDS) -> dict[str, str]:
    return dict.fromkeys(_ALL_ACTIONS, scope)


def default_roles() -> list[dict]:
    """The roles a new installation starts with. Administrators edit them freely."""
    own_work = {
        "view": Scope.OWN,
        "create": Scope.OWN,
        "edit": Scope.OWN,
        "delete": Scope.OWN,
        "export": Scope.OWN,
        "import": Scope.NONE,
    }
    manager = _matrix(own_work, _RECORDS)
    manager[Entity.PRODUCTS] = {"view": Scope.ALL}
    manager[Entity.REPORTS] = {"view": Scope.OWN}

    head = _matrix(_everything(Scope.SUBTREE), _RECORDS)
    head[Entity.PRODUCTS] = {"view": Scope.ALL, "export": Scope.ALL}
    head[Entity.REPORTS] = {"view": Scope.SUBTREE, "export": Scope.SUBTREE}

    marketer = _matrix(
        {
            "view": Scope.ALL,
            "create": Scope.ALL,
            "edit": Scope.OWN,
            "export": Scope.ALL,
            "import": Scope.ALL,
        },
        (Entity.COMPANIES, Entity.CONTACTS, Entity.LEADS),
    )
    marketer.update(
        _matrix({"view": Scope.ALL, "export": Scope.ALL}, (Entity.DEALS, Entity.ORDERS))
    )
    marketer.update(_matrix(own_work, (Entity.ACTIVITIES, Entity.TASKS)))
    marketer[Entity.PRODUCTS] = {"view": Scope.ALL, "export": Scope.ALL}
    marketer[Entity.REPORTS] = {"view": Scope.ALL, "export": Scope.ALL}

    admin = _matrix(_everything(Scope.ALL), list(Entity))

    auditor = _matrix({"view": Scope.ALL, "export": Scope.ALL}, list(Entity))

    roles = [
        {
            "code": "manager",
            "name": "Manager",
            "grants": manager,
            "description": "Works their own clients, deals and tasks.",
        },
        {
            "code": "head_of_sales",
            "name": "Head of sales",
            "grants": head,
            "description": "Everything of their department and the departments below it.",
        },
        {
            "code": "marketer",
            "name": "Marketer",
            "grants": marketer,
            "description": "Sees the whole client base and imports it; deals read-only.",
        },
        {
            "code": "administrator",
            "name": "Administrator",
            "grants": admin,
            "require_2fa": False,
            "description": "Everything, including settings.",
        },
        {
            "code": "auditor",
            "name": "Read-only auditor",
            "grants": auditor,
            "description": "Sees and exports everything, changes nothing.",
        },
    ]
    for role in roles:  # plain strings, ready for JSON
        role["grants"] = {
            str(e): {str(a): str(s) for a, s in actions.items()}
            for e, actions in role["grants"].items()
        }
    return roles


def ensure_default_roles():
    """Create the shipped roles that are missing (never overwrites an edited one)."""
    from svyaz.accounts.models import Role

    out = {}
    for spec in default_roles():
        role, _created = Role.objects.get_or_create(
            code=spec["code"],
            defaults={
                "name": spec["name"],
                "description": spec["description"],
                "grants": spec["grants"],
                "require_2fa": spec.get("require_2fa", False),
            },
        )
        out[role.code] = role
    return out
