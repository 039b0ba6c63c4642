"""Jobs waiting in the queue name their task by its import path. The tasks now sit beside
the actions they run, so waiting jobs are pointed at their new paths (and back)."""

from django.db import migrations

MOVED = {
    "whatsapp.tasks.process_webhook_event": "whatsapp.webhook.ingest.process_webhook_event",
    "whatsapp.tasks.send_message": "whatsapp.sending.delivery.send_message",
    "whatsapp.tasks.mark_read": "whatsapp.conversations.actions.mark_read",
    "whatsapp.tasks.sync_templates": "whatsapp.team.actions.sync_templates_job",
    "whatsapp.tasks.download_media": "whatsapp.media.actions.download_media",
    "whatsapp.tasks.purge_expired_data": "whatsapp.contacts.privacy.purge_expired_data_job",
    "whatsapp.tasks.maintain_delivery": "whatsapp.maintenance.maintain_delivery",
}


def repoint(apps, schema_editor, moves):
    DBTaskResult = apps.get_model("django_tasks_database", "DBTaskResult")
    waiting = DBTaskResult.objects.filter(status__in=["READY", "RUNNING"])
    for old, new in moves.items():
        waiting.filter(task_path=old).update(task_path=new)


class Migration(migrations.Migration):
    dependencies = [
        ("whatsapp", "0009_webhook_reject"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [
        migrations.RunPython(
            lambda apps, editor: repoint(apps, editor, MOVED),
            lambda apps, editor: repoint(apps, editor, {new: old for old, new in MOVED.items()}),
        )
    ]
