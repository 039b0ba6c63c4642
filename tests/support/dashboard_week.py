"""A small week of acme's data whose dashboard figures were computed by hand: Monday 2 to
Sunday 8 March 2026, in UTC. Rows are written directly: the tests are about reading them back."""

from datetime import UTC, date, datetime

from dashboard.forms import Period
from whatsapp.models import Contact, Conversation, Message

WEEK = Period(date(2026, 3, 2), date(2026, 3, 8))
IN, OUT = "in", "out"


def at(day, hour=0, minute=0, second=0):
    return datetime(2026, 3, day, hour, minute, second, tzinfo=UTC)


class Scenario:
    """Five conversations (A-E) of acme; see each builder for what happens in it."""

    def __init__(self, tenant, agent, owner):
        self.tenant, self.agent, self.owner = tenant, agent, owner
        self.number = tenant.phone_numbers.get()
        self.a, self.b, self.c, self.d, self.e = (self.conversation(name) for name in "ABCDE")

    def conversation(self, name):
        contact = Contact.objects.create(tenant=self.tenant, wa_id=f"1555000{ord(name)}", profile_name=name)
        return Conversation.objects.create(tenant=self.tenant, contact=contact, phone_number=self.number)

    def message(self, conversation, direction, when, author=None, status=None, **fields):
        status = status or ("delivered" if direction == IN else "read")
        return Message.objects.create(
            tenant=self.tenant,
            conversation=conversation,
            direction=direction,
            timestamp=when,
            author=author,
            status=status,
            **fields,
        )


def build_week(acme, agent, owner):
    s = Scenario(acme, agent, owner)
    # A: two messages make one wait, answered by the agent in 300 s; a second reply is a
    # follow-up. A new wait at 10:00 outlasts an automated message and a failed reply, and
    # the owner answers it in 1,800 s. A reaction is no message. Tuesday's wait is unanswered.
    s.message(s.a, IN, at(2, 9))
    s.message(s.a, IN, at(2, 9, 0, 30))
    s.message(s.a, OUT, at(2, 9, 5), author=s.agent, status="read")
    s.message(s.a, OUT, at(2, 9, 6), author=s.agent, status="delivered")
    s.message(s.a, IN, at(2, 10))
    s.message(s.a, OUT, at(2, 10), status="sent")  # automated: no author
    s.message(s.a, OUT, at(2, 10, 20), author=s.agent, status="failed", error_code=131047)
    s.message(s.a, OUT, at(2, 10, 30), author=s.owner, status="read")
    s.message(s.a, IN, at(2, 11), type="reaction", text="👍")
    s.message(s.a, IN, at(3, 8))
    # B: a wait that started on Sunday 1 March (before the week) is not the week's, though
    # answered in it. Wednesday's wait is answered in 60 s; that reply is still queued.
    s.message(s.b, IN, at(1, 23))
    s.message(s.b, IN, at(2, 0, 10))
    s.message(s.b, OUT, at(2, 0, 20), author=s.agent, status="delivered")
    s.message(s.b, IN, at(4, 12))
    s.message(s.b, OUT, at(4, 12, 1), author=s.agent, status="queued")
    # C: a wait that starts a minute before the week ends is answered after it, in 600 s.
    s.message(s.c, IN, at(8, 23, 59))
    s.message(s.c, OUT, at(9, 0, 9), author=s.agent, status="read")
    s.message(s.c, IN, at(9, 10))
    # D: two replies WhatsApp could not deliver.
    s.message(s.d, OUT, at(5, 14), author=s.agent, status="failed", error_code=131026)
    s.message(s.d, OUT, at(5, 15), author=s.agent, status="failed", error_code=131026)
    return s
