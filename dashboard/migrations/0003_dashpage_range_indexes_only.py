import django.db.models.deletion
from django.db import migrations, models

# Only the indexes go: AlterField would also drop and re-add the foreign keys, and re-adding
# one checks every row of the table under a lock that stops the recount's writes.
INDEXES = {
    "dashboard_messagetally_tenant_id_52ec9e89": ("dashboard_messagetally", "tenant_id"),
    "dashboard_responsewait_tenant_id_e4de5d55": ("dashboard_responsewait", "tenant_id"),
    "dashboard_responsewait_conversation_id_8968d2d2": ("dashboard_responsewait", "conversation_id"),
}


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0002_record_facts_and_backfill"),
        ("tenants", "0010_audit_actions_merged"),
        ("whatsapp", "0013_merge_20261203_1742"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(f"DROP INDEX IF EXISTS {index}", f"CREATE INDEX {index} ON {table} ({column})")
                for index, (table, column) in INDEXES.items()
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="messagetally",
                    name="tenant",
                    field=models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="tenants.tenant",
                    ),
                ),
                migrations.AlterField(
                    model_name="responsewait",
                    name="conversation",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="whatsapp.conversation",
                    ),
                ),
                migrations.AlterField(
                    model_name="responsewait",
                    name="tenant",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="tenants.tenant",
                    ),
                ),
            ],
        )
    ]
