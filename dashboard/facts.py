"""The SQL that keeps dashboard.models current on PostgreSQL, and the maintenance that
folds it up.

Triggers on whatsapp_message, statement-level with transition tables so that a bulk
insert or delete costs one extra statement, not one per row:

- every inserted, changed (direction, status, type, timestamp) or deleted thread message
  adds +n/-n rows to MessageTally;
- every change that can move a conversation's waits (a thread message from the customer
  or a reply appears, disappears, moves in time, fails, is sent again, loses its author)
  marks the conversation stale. The mark takes a row lock (ON CONFLICT DO UPDATE), so the
  maintenance job cannot clear it while the change is not committed.

Every 30 seconds the maintenance job folds the tally rows and counts the waits of stale
conversations again; between two runs the dashboard reads the stale ones from the
messages (dashboard/timing.py), so its figures are exact at any moment.
"""

import time

from django.db import connection, transaction

from whatsapp.message_types import FOLLOWUP_TYPES

NOT_IN_THREAD_SQL = ", ".join(f"'{kind}'" for kind in (*FOLLOWUP_TYPES, "system"))
IN_THREAD = f"m.type NOT IN ({NOT_IN_THREAD_SQL})"
# The same condition as the message_waits index and dashboard.timing.REPLY.
MOVES_WAITS = f"{IN_THREAD} AND (m.direction = 'in' OR (m.direction = 'out' AND m.author_id IS NOT NULL AND m.status <> 'failed'))"
QUARTER = "date_bin('15 minutes', {0}.timestamp, TIMESTAMPTZ '2000-01-01 00:00+00')"
RECOUNT_BATCH = 2000

TALLY_COLUMNS = "tenant_id, quarter, direction, status, count"
_TALLY_OF = f"SELECT m.tenant_id, {QUARTER.format('m')} AS quarter, m.direction, m.status, {{sign}} AS n FROM {{rows}} m WHERE {IN_THREAD}"
_STALE_OF = f"SELECT m.tenant_id, m.conversation_id FROM {{rows}} m WHERE {MOVES_WAITS}"
_MARK_STALE = """
    INSERT INTO dashboard_staleconversation (conversation_id, tenant_id, marked_at)
    SELECT DISTINCT ON (conversation_id) conversation_id, tenant_id, now() FROM ({stale}) s ORDER BY conversation_id
    ON CONFLICT (conversation_id) DO UPDATE SET marked_at = EXCLUDED.marked_at;"""
_TALLY = """
    INSERT INTO dashboard_messagetally (tenant_id, quarter, direction, status, count)
    SELECT tenant_id, quarter, direction, status, SUM(n) FROM ({tally}) t
    GROUP BY tenant_id, quarter, direction, status HAVING SUM(n) <> 0;"""

TRIGGERS = f"""
CREATE FUNCTION dashboard_message_inserted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    {_TALLY.format(tally=_TALLY_OF.format(sign=1, rows="new_rows"))}
    {_MARK_STALE.format(stale=_STALE_OF.format(rows="new_rows"))}
    RETURN NULL;
END $$;
CREATE FUNCTION dashboard_message_deleted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    {_TALLY.format(tally=_TALLY_OF.format(sign=-1, rows="old_rows"))}
    {_MARK_STALE.format(stale=_STALE_OF.format(rows="old_rows"))}
    RETURN NULL;
END $$;
CREATE FUNCTION dashboard_message_updated() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    {
    _TALLY.format(
        tally=_TALLY_OF.format(sign=1, rows="new_rows") + " UNION ALL " + _TALLY_OF.format(sign=-1, rows="old_rows")
    )
}
    {
    _MARK_STALE.format(
        stale=f'''
        SELECT m.tenant_id, m.conversation_id FROM old_rows m JOIN new_rows n ON n.id = m.id
        WHERE ({MOVES_WAITS}) IS DISTINCT FROM ({MOVES_WAITS.replace("m.", "n.")})
           OR (({MOVES_WAITS}) AND (m.timestamp, m.conversation_id, m.author_id) IS DISTINCT FROM (n.timestamp, n.conversation_id, n.author_id))
        UNION ALL SELECT n.tenant_id, n.conversation_id FROM old_rows m JOIN new_rows n ON n.id = m.id
        WHERE ({MOVES_WAITS.replace("m.", "n.")}) AND m.conversation_id <> n.conversation_id'''
    )
}
    RETURN NULL;
END $$;
CREATE TRIGGER dashboard_message_inserted AFTER INSERT ON whatsapp_message
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dashboard_message_inserted();
CREATE TRIGGER dashboard_message_deleted AFTER DELETE ON whatsapp_message
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION dashboard_message_deleted();
CREATE TRIGGER dashboard_message_updated AFTER UPDATE ON whatsapp_message
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dashboard_message_updated();
"""
DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS dashboard_message_inserted ON whatsapp_message;
DROP TRIGGER IF EXISTS dashboard_message_deleted ON whatsapp_message;
DROP TRIGGER IF EXISTS dashboard_message_updated ON whatsapp_message;
DROP FUNCTION IF EXISTS dashboard_message_inserted();
DROP FUNCTION IF EXISTS dashboard_message_deleted();
DROP FUNCTION IF EXISTS dashboard_message_updated();
"""

# The waits of whole conversations (dashboard/timing.py defines them), in one ordered
# pass over the message_waits index alone (the tenant comes from the conversation): a turn's customer messages and the reply that ends
# it share a number, the count of replies before them.
WAITS_OF_CONVERSATIONS = f"""
INSERT INTO dashboard_responsewait (tenant_id, conversation_id, started_at, replied_at, replied_by_id)
SELECT c.tenant_id, waits.conv, started, replied, replier FROM (
    SELECT conv, turn,
           MIN(CASE WHEN is_in = 1 THEN ts END) AS started,
           MIN(CASE WHEN is_in = 0 THEN ts END) AS replied,
           MAX(CASE WHEN is_in = 0 THEN replier END) AS replier
    FROM (
        SELECT m.conversation_id AS conv, m.timestamp AS ts, m.author_id AS replier,
               CASE WHEN m.direction = 'in' THEN 1 ELSE 0 END AS is_in,
               COUNT(*) FILTER (WHERE m.direction = 'out') OVER (
                   PARTITION BY m.conversation_id ORDER BY m.timestamp, m.id ROWS UNBOUNDED PRECEDING
               ) - CASE WHEN m.direction = 'out' THEN 1 ELSE 0 END AS turn
        FROM whatsapp_message m WHERE {MOVES_WAITS} {{which}}
    ) turns GROUP BY conv, turn
) waits JOIN whatsapp_conversation c ON c.id = waits.conv
WHERE started IS NOT NULL
"""


def backfill(using=connection):
    """Tallies and waits of every message already stored: two set-based passes."""
    with using.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO dashboard_messagetally ({TALLY_COLUMNS}) SELECT tenant_id, quarter, direction, status, COUNT(*) "
            f"FROM (SELECT m.tenant_id, {QUARTER.format('m')} AS quarter, m.direction, m.status FROM whatsapp_message m "
            f"WHERE {IN_THREAD}) t GROUP BY tenant_id, quarter, direction, status"
        )
        cursor.execute(WAITS_OF_CONVERSATIONS.format(which=""))


def fold_tallies():
    """Fold each bucket's +n/-n rows into one row (none when they cancel out)."""
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute(f"""
            WITH crowded AS (
                SELECT tenant_id, quarter, direction, status FROM dashboard_messagetally
                GROUP BY tenant_id, quarter, direction, status HAVING COUNT(*) > 1
            ), folded AS (
                DELETE FROM dashboard_messagetally t USING crowded c
                WHERE (t.tenant_id, t.quarter, t.direction, t.status) = (c.tenant_id, c.quarter, c.direction, c.status)
                RETURNING t.tenant_id, t.quarter, t.direction, t.status, t.count
            )
            INSERT INTO dashboard_messagetally ({TALLY_COLUMNS})
            SELECT tenant_id, quarter, direction, status, SUM(count) FROM folded
            GROUP BY tenant_id, quarter, direction, status HAVING SUM(count) <> 0""")
        return cursor.rowcount


def recount_stale_waits(batch=RECOUNT_BATCH):
    """Count the waits of up to `batch` stale conversations again and clear their marks.
    A mark a running transaction holds is skipped: it is counted at the next run."""
    if connection.vendor != "postgresql":
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM dashboard_staleconversation WHERE conversation_id IN (SELECT conversation_id FROM "
            "dashboard_staleconversation ORDER BY conversation_id LIMIT %s FOR UPDATE SKIP LOCKED) "
            "RETURNING conversation_id",
            [batch],
        )
        ids = [row[0] for row in cursor.fetchall()]
        if ids:
            cursor.execute("DELETE FROM dashboard_responsewait WHERE conversation_id = ANY(%s)", [ids])
            cursor.execute(WAITS_OF_CONVERSATIONS.format(which="AND m.conversation_id = ANY(%s)"), [ids])
    return len(ids)


def catch_up(seconds=None):
    """Fold the tallies, then recount stale conversations batch after batch until none is
    left or `seconds` have passed (a bulk import or purge marks thousands at once; each batch
    of 2,000 takes well under a second). Returns the number recounted."""
    fold_tallies()
    started, total = time.monotonic(), 0
    while (counted := recount_stale_waits(RECOUNT_BATCH)) and (seconds is None or time.monotonic() - started < seconds):
        total += counted
    return total + counted
