from django.db import migrations

# The single per-user scope of session 1 becomes a role: own → manager,
# department/subtree → head of sales, all → administrator.
SCOPE_ROLE = {"own": "manager", "department": "head_of_sales", "subtree": "head_of_sales",
              "all": "administrator"}


def create_default_roles(apps, schema_editor):
    from svyaz.accounts.roles import default_roles

    Role = apps.get_model("accounts", "Role")
    User = apps.get_model("accounts", "User")
    by_code = {}
    for spec in default_roles():
        role, _created = Role.objects.get_or_create(
            code=spec["code"],
            defaults={
                "name": spec["name"],
                "description": spec.get("description", ""),
                "grants": spec["grants"],
                "require_2fa": spec.get("require_2fa", False),
            },
        )
        by_code[role.code] = role
    for user in User.objects.all():
        user.roles.add(by_code[SCOPE_ROLE.get(user.scope, "manager")])


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0003_roles"),
    ]

    operations = [
        migrations.RunPython(create_default_roles, migrations.RunPython.noop),
    ]
