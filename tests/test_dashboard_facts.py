"""The facts the dashboard records as messages change (PostgreSQL triggers, folded and
recounted by the maintenance job), against the figures computed from the messages."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from dashboard import facts, metrics, timing
from dashboard.models import MessageTally, ResponseWait, StaleConversation
from tests.support.dashboard_week import IN, OUT, WEEK, Scenario, at, build_week
from whatsapp import maintenance
from whatsapp.conversations import receiving
from whatsapp.models import Message, WebhookEvent
from whatsapp.sending import actions as sending

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the facts are kept on PostgreSQL only")


@pytest.fixture
def week(acme, agent, owner):
    return build_week(acme, agent, owner)


def maintain():
    maintenance.maintain_delivery.call()


def live_hourly_counts(tenant, period):
    """hourly_counts as SQLite computes it: from the messages themselves."""
    vendor = connection.vendor
    connection.vendor = "sqlite"  # only hourly_counts looks at it here
    try:
        return sorted(metrics.hourly_counts(tenant, period))
    finally:
        connection.vendor = vendor


def computed_stats(tenant, period):
    return timing.summarize(*timing.computed_waits(tenant, period), grouped=True)


def waits_of(conversation):
    return list(
        ResponseWait.objects.filter(conversation=conversation)
        .order_by("started_at")
        .values_list("started_at", "replied_at", "replied_by")
    )


def test_recorded_waits_give_the_hand_computed_figures(week):
    maintain()
    assert not StaleConversation.objects.exists()
    result = timing.team_timing(week.tenant, WEEK)
    responses = result.responses
    assert (responses.count, responses.measured, responses.median) == (5, 4, timedelta(seconds=450))
    assert responses.p90.total_seconds() == pytest.approx(1440)
    assert result.responses_by_user[week.agent.pk].count == 3 and result.responses_by_user[week.owner.pk].count == 1
    assert (responses, result.responses_by_user) == computed_stats(week.tenant, WEEK)


def test_a_marked_conversation_is_computed_and_the_others_are_read_from_the_records(week):
    maintain()
    week.message(week.c, OUT, at(8, 23, 59, 30), author=week.owner)  # C's wait now ends in 30 s
    assert list(StaleConversation.objects.values_list("conversation_id", flat=True)) == [week.c.pk]
    sql, _params = timing.waits(week.tenant, WEEK)
    assert "UNION ALL" in sql
    result = timing.team_timing(week.tenant, WEEK)
    assert (result.responses, result.responses_by_user) == computed_stats(week.tenant, WEEK)
    assert result.responses_by_user[week.owner.pk].count == 2


def test_with_no_conversation_marked_the_waits_are_read_from_the_records_alone(week):
    maintain()
    sql, params = timing.waits(week.tenant, WEEK)
    assert Message._meta.db_table not in sql
    assert timing.summarize(sql, params, grouped=True) == computed_stats(week.tenant, WEEK)


def test_a_reply_after_a_customer_message_records_the_wait_and_a_second_reply_does_not(acme, agent):
    s = Scenario(acme, agent, agent)
    s.message(s.a, IN, at(3, 9))
    maintain()
    assert waits_of(s.a) == [(at(3, 9), None, None)]
    s.message(s.a, OUT, at(3, 9, 2), author=agent)
    assert StaleConversation.objects.filter(conversation_id=s.a.pk).exists()
    maintain()
    assert waits_of(s.a) == [(at(3, 9), at(3, 9, 2), agent.pk)]
    s.message(s.a, OUT, at(3, 9, 5), author=agent)
    maintain()
    assert waits_of(s.a) == [(at(3, 9), at(3, 9, 2), agent.pk)]


def test_the_inbox_actions_record_the_wait_of_a_customer_answered_by_an_agent(acme, agent_membership):
    number = acme.phone_numbers.get()
    sent_at = timezone.now() - timedelta(minutes=5)
    inbound = receiving.InboundMessage(
        wamid="wamid.facts.1",
        wa_id="15550001111",
        user_id="",
        profile_name="Ann",
        timestamp=sent_at,
        type="text",
        text="Hello?",
    )
    message = receiving.receive_message(acme, number, inbound)
    message.conversation.refresh_from_db()
    reply = sending.send_reply(agent_membership, message.conversation, "Hello Ann")
    maintain()
    assert waits_of(message.conversation) == [(sent_at, reply.timestamp, agent_membership.user_id)]


def test_a_failed_reply_reopens_the_wait_and_sending_it_again_ends_it_again(acme, agent):
    s = Scenario(acme, agent, agent)
    s.message(s.a, IN, at(3, 9))
    reply = s.message(s.a, OUT, at(3, 9, 1), author=agent, status="sent")
    maintain()
    Message.objects.filter(pk=reply.pk).update(status="failed")
    maintain()
    assert waits_of(s.a) == [(at(3, 9), None, None)]
    Message.objects.filter(pk=reply.pk).update(status="queued")  # delivery.resend
    maintain()
    assert waits_of(s.a) == [(at(3, 9), at(3, 9, 1), agent.pk)]


def test_delivery_ticks_reactions_and_edits_leave_the_waits_alone(acme, agent):
    s = Scenario(acme, agent, agent)
    customer = s.message(s.a, IN, at(3, 9), wamid="wamid.facts.2")
    reply = s.message(s.a, OUT, at(3, 9, 1), author=agent, status="sent")
    maintain()
    Message.objects.filter(pk=reply.pk).update(status="read")
    s.message(s.a, IN, at(3, 9, 2), type="reaction", text="👍", target_wamid=customer.wamid)
    s.message(s.a, IN, at(3, 9, 3), type="edit", text="Hi!", target_wamid=customer.wamid)
    assert not StaleConversation.objects.exists()
    assert timing.team_timing(acme, WEEK).responses.count == 1


def test_tallies_follow_inserts_status_changes_and_deletes(week):
    maintain()
    reply = Message.objects.filter(conversation=week.b, status="queued").get()
    Message.objects.filter(pk=reply.pk).update(status="delivered")
    Message.objects.filter(conversation=week.d).delete()
    counts = sorted(metrics.hourly_counts(week.tenant, WEEK))
    assert counts == live_hourly_counts(week.tenant, WEEK)
    funnel = metrics.delivery_funnel(counts)
    assert (funnel.total, funnel.delivered, funnel.failed, funnel.waiting) == (7, 5, 1, 0)


def test_folding_leaves_one_row_per_quarter_hour_and_the_same_figures(week):
    Message.objects.filter(conversation=week.a, direction=OUT, status="read").update(status="delivered")
    before = sorted(metrics.hourly_counts(week.tenant, WEEK))
    maintain()
    keys = list(MessageTally.objects.values_list("tenant", "quarter", "direction", "status"))
    assert len(keys) == len(set(keys)) and not MessageTally.objects.filter(count=0).exists()
    assert sorted(metrics.hourly_counts(week.tenant, WEEK)) == before == live_hourly_counts(week.tenant, WEEK)


def test_the_backfill_gives_the_same_numbers_as_the_messages(week):
    expected_waits = computed_stats(week.tenant, WEEK)
    expected_counts = live_hourly_counts(week.tenant, WEEK)
    for model in (MessageTally, ResponseWait, StaleConversation):
        model.objects.all().delete()
    facts.backfill()
    assert sorted(metrics.hourly_counts(week.tenant, WEEK)) == expected_counts
    assert timing.summarize(*timing.waits(week.tenant, WEEK), grouped=True) == expected_waits


def test_catching_up_recounts_batch_after_batch_until_no_conversation_is_marked(week, monkeypatch):
    marked = StaleConversation.objects.count()
    assert marked > 1
    monkeypatch.setattr(facts, "RECOUNT_BATCH", 1)  # as if a bulk import marked thousands

    assert facts.catch_up() == marked
    assert not StaleConversation.objects.exists()
    assert timing.team_timing(week.tenant, WEEK).responses == computed_stats(week.tenant, WEEK)[0]


def test_the_tables_the_dashboard_reads_by_date_have_no_index_on_the_tenant_alone(db):
    """With one, other tenants' many failed rows led the planner to read all of a tenant's rows
    to count its failed ones in 30 days (docs/performance.md)."""
    for model in (Message, WebhookEvent, MessageTally, ResponseWait):
        with connection.cursor() as cursor:
            constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
        tenant_only = [
            name for name, index in constraints.items() if index["index"] and index["columns"] == ["tenant_id"]
        ]
        assert tenant_only == [], model
