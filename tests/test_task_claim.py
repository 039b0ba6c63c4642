"""The worker's claim of one queue's next job reads one index entry, whatever the table's
statistics say (migration whatsapp 0008): with statistics older than a burst of webhooks,
PostgreSQL sorted every waiting job for each claim (bench/)."""

import pytest
from django.db import connection, transaction
from django_tasks_db.models import DBTaskResult

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL query plan")


def test_the_claim_of_one_queue_uses_the_queue_ordered_index(db):
    with transaction.atomic(), connection.cursor() as cursor:
        claim = (
            DBTaskResult.objects.ready()
            .filter(backend_name="default", queue_name__in=["webhooks"])
            .select_for_update(skip_locked=True)[:1]
        )
        sql, params = claim.query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "task_ready_by_queue" in plan and "Sort" not in plan, plan
