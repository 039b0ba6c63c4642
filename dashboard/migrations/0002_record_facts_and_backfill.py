"""PostgreSQL only: install the triggers that keep the dashboard's facts current, then
fill them from the messages already stored, in two set-based passes (a few seconds for
millions of messages). SQLite keeps reading the messages themselves."""

from django.db import migrations


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from dashboard import facts

    schema_editor.execute(facts.TRIGGERS)
    facts.backfill(schema_editor.connection)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from dashboard import facts

    schema_editor.execute(facts.DROP_TRIGGERS)
    schema_editor.execute(
        "DELETE FROM dashboard_messagetally; DELETE FROM dashboard_responsewait; "
        "DELETE FROM dashboard_staleconversation"
    )


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0001_facts")]

    operations = [migrations.RunPython(install, uninstall)]
