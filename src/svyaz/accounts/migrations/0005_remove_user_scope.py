from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0004_default_roles"),
    ]

    operations = [
        migrations.RemoveField(
            model_name='user',
            name='scope',
        ),
    ]
