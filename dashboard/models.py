"""Facts the dashboard reads instead of the raw messages, kept current by PostgreSQL
triggers on whatsapp_message (dashboard/facts.py has their SQL), so that every path that
writes messages (actions, status webhooks, retries, purges, cascades, COPY) keeps them
exact in its own transaction. SQLite (the embedded demo) has no triggers: there the
dashboard reads the messages themselves (dashboard/metrics.py, dashboard/timing.py).
"""

from django.conf import settings
from django.db import models

from tenants.models import Tenant


class MessageTally(models.Model):
    """How many thread messages of a tenant, per quarter of an hour (UTC), direction and
    status. Each insert, status change or delete adds a row of +n or -n; the maintenance
    job folds a bucket's rows into one (dashboard.facts.fold_tallies). Quarters, not hours,
    so that days and hours in any time zone (offsets are multiples of 15 minutes) are
    sums of whole buckets."""

    # No constraint in the database: the delete trigger writes -n rows while a tenant's
    # messages are deleted with the tenant, possibly after its tally rows. No index of its own
    # either: message_tally_range starts with the tenant, and a tenant-only index tempted the
    # planner to read all of a tenant's rows and filter them by date.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False)
    quarter = models.DateTimeField(help_text="The start of the quarter hour, in UTC.")
    direction = models.CharField(max_length=3)
    status = models.CharField(max_length=10)
    count = models.IntegerField()

    class Meta:
        indexes = [
            models.Index(
                fields=["tenant", "quarter", "direction", "status"], include=["count"], name="message_tally_range"
            )
        ]


class ResponseWait(models.Model):
    """One wait of a customer for the team's reply (see dashboard/timing.py), from the
    message that started it to the reply that ended it, if any."""

    # Indexed by response_wait_range and response_wait_conversation below, not on their own
    # (a tenant-only index drew the same planner mistake as MessageTally's).
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    conversation = models.ForeignKey(
        "whatsapp.Conversation", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    started_at = models.DateTimeField()
    replied_at = models.DateTimeField(null=True, blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(
                fields=["tenant", "started_at"],
                include=["replied_at", "replied_by", "conversation"],
                name="response_wait_range",
            ),
            models.Index(fields=["conversation"], name="response_wait_conversation"),
        ]


class StaleConversation(models.Model):
    """A conversation whose messages changed in a way that can move its waits; until the
    maintenance job counts them again (dashboard.facts.recount_stale_waits), the
    dashboard computes its waits from the messages. No foreign keys: a trigger writes
    these rows while a conversation may be deleted in the same transaction."""

    conversation_id = models.BigIntegerField(primary_key=True)
    tenant_id = models.BigIntegerField(db_index=True)
    marked_at = models.DateTimeField()
