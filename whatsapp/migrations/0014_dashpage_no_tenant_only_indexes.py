import django.db.models.deletion
from django.db import migrations, models

# Only the indexes go: AlterField would also drop and re-add the foreign keys, and re-adding
# one checks every row of the table under a lock that stops writes (millions of messages).
INDEXES = {
    "whatsapp_message_tenant_id_be6df8a8": "whatsapp_message",
    "whatsapp_webhookevent_tenant_id_705d6fd4": "whatsapp_webhookevent",
}


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0010_audit_actions_merged"),
        ("whatsapp", "0013_merge_20261203_1742"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(f"DROP INDEX IF EXISTS {index}", f"CREATE INDEX {index} ON {table} (tenant_id)")
                for index, table in INDEXES.items()
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="message",
                    name="tenant",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="messages",
                        to="tenants.tenant",
                    ),
                ),
                migrations.AlterField(
                    model_name="webhookevent",
                    name="tenant",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="webhook_events",
                        to="tenants.tenant",
                    ),
                ),
            ],
        )
    ]
