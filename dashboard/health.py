"""Is the WhatsApp connection healthy? What Meta's webhooks and our Graph API calls say,
whether the background workers keep up, and a warning, in words, for everything that needs
an admin."""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.humanize.templatetags.humanize import intcomma
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.timesince import timesince

from whatsapp.cloud import api as cloud_api
from whatsapp.jobs import health as jobs_health
from whatsapp.models import Connection, GraphCall, Message, PhoneNumber, WebhookEvent, WebhookReject

logger = logging.getLogger(__name__)

# Meta answers a send with statuses within seconds; this long without one is a silence.
WEBHOOK_SILENCE = timedelta(minutes=15)
PERMISSION_CODES = {3, 10, *range(200, 300)}
QUALITY_WORDS = {
    "GREEN": ("High", ""),
    "YELLOW": ("Medium", "warning"),
    "RED": ("Low", "danger"),
    "FLAGGED": ("Flagged for low quality", "danger"),
    "UNFLAGGED": ("Back to normal", ""),
    "DOWNGRADE": ("Limit lowered for low quality", "danger"),
    "UPGRADE": ("Limit raised", ""),
    "UNKNOWN": ("Not rated yet", ""),
    "NA": ("Not rated yet", ""),
}
LIMIT_WORDS = {
    "TIER_50": "50 customers a day",
    "TIER_250": "250 customers a day",
    "TIER_1K": "1,000 customers a day",
    "TIER_2K": "2,000 customers a day",
    "TIER_10K": "10,000 customers a day",
    "TIER_100K": "100,000 customers a day",
    "TIER_UNLIMITED": "Unlimited",
    "UNLIMITED": "Unlimited",
}


@dataclass
class Alert:
    level: str  # "danger" or "warning"
    title: str
    text: str


@dataclass
class NumberHealth:
    number: PhoneNumber
    quality: str
    quality_level: str
    limit: str


@dataclass
class QueueProblem:
    """What is wrong with a task queue, and the command that fixes it."""

    queue: str
    text: str
    command: str = "python manage.py db_worker"


@dataclass
class Health:
    last_webhook: WebhookEvent | None
    last_valid_webhook_at: object
    bad_signatures: int
    failed_events: int
    token: str  # "valid", "invalid", "no permission", "unknown", "missing"
    token_note: str
    last_call: GraphCall | None
    numbers: list
    warnings: list = field(default_factory=list)
    queue_problems: list = field(default_factory=list)


def connection_health(tenant, period, now=None):
    """Everything the health panel shows, for the tenant and the period."""
    now = now or timezone.now()
    events = WebhookEvent.objects.filter(tenant=tenant)
    in_period = {"received_at__gte": period.start, "received_at__lt": period.end}
    last_webhook = events.order_by("-received_at").only("received_at", "signature", "state").first()
    health = Health(
        last_webhook=last_webhook,
        last_valid_webhook_at=_last_valid(events),
        bad_signatures=_bad_signatures(tenant, events, period),
        failed_events=events.filter(state=WebhookEvent.State.FAILED, **in_period).count(),
        last_call=GraphCall.objects.filter(tenant=tenant, status_code__isnull=False).order_by("-started_at").first(),
        numbers=[_number_health(number) for number in tenant.phone_numbers.order_by("pk")],
        token="unknown",
        token_note="",
    )
    health.token, health.token_note = _token_state(_connection(tenant), health.last_call)
    health.warnings = _warnings(tenant, health, _last_send_at(tenant), now)
    health.queue_problems = queue_problems(jobs_health.queue_health(now), now)
    return health


def queue_problems(queues, now):
    """In words, each task queue that no live worker takes or whose oldest ready job has
    waited longer than QUEUE_STALL_SECONDS: webhooks, sends and files wait until it is fixed."""
    problems = []
    for queue in queues:
        if queue.state == jobs_health.NO_WORKER:
            problems.append(QueueProblem(queue.name, f"No worker takes the {queue.name} queue"))
        elif queue.state == jobs_health.STALLED:
            waited = timesince(now - timedelta(seconds=queue.oldest_seconds), now)
            jobs = f"{intcomma(queue.ready)} job{'' if queue.ready == 1 else 's'}"
            problems.append(
                QueueProblem(
                    queue.name,
                    f"The {queue.name} queue is behind: {jobs} ready, the oldest waiting for {waited}. "
                    "Its workers are stuck or too few",
                )
            )
    return problems


def _bad_signatures(tenant, events, period):
    """Posts refused for their signature in the period: counted per minute, and the rows
    kept of them before they were counted."""
    minutes = WebhookReject.objects.filter(tenant=tenant, minute__gte=period.start, minute__lt=period.end)
    counted = minutes.aggregate(total=Sum(F("missing") + F("invalid")))["total"] or 0
    kept = events.exclude(signature=WebhookEvent.Signature.VALID)
    return counted + kept.filter(received_at__gte=period.start, received_at__lt=period.end).count()


def _last_valid(events):
    valid = events.filter(signature=WebhookEvent.Signature.VALID).order_by("-received_at")
    return valid.values_list("received_at", flat=True).first()


def _last_send_at(tenant):
    """When Meta last accepted one of our messages (it has a wamid)."""
    accepted = Message.objects.filter(tenant=tenant, direction=Message.Direction.OUT, wamid__isnull=False)
    return accepted.order_by("-timestamp").values_list("timestamp", flat=True).first()


def _connection(tenant):
    """The tenant's Connection, or None while a platform admin has not set one up."""
    try:
        return tenant.whatsapp
    except Connection.DoesNotExist:
        return None


def _token_state(connection, last_call):
    if connection is None:
        return "missing", "This tenant has no WhatsApp connection yet: a platform admin sets it up in Django admin."
    if connection.sending_paused:
        return "invalid", connection.sending_paused_reason
    if last_call is None:
        return "unknown", "No Graph API call has been made yet."
    when = f"{timezone.localtime(last_call.started_at):%Y-%m-%d %H:%M}"
    if last_call.error_code in cloud_api.TOKEN_CODES:
        return "invalid", f"WhatsApp refused the token at {when} ({last_call.error_code}): {last_call.error_message}"
    if last_call.error_code in PERMISSION_CODES:
        return "no permission", f"At {when} WhatsApp said ({last_call.error_code}): {last_call.error_message}"
    return "valid", f"WhatsApp accepted it at {when}."


def _number_health(number):
    quality, level = QUALITY_WORDS.get(number.quality_rating.upper(), (number.quality_rating or "Not known yet", ""))
    limit = LIMIT_WORDS.get(number.messaging_limit.upper(), number.messaging_limit or "Not known yet")
    return NumberHealth(number, quality, level, limit)


def _warnings(tenant, health, last_send_at, now):
    warnings = []
    if health.token == "missing":
        warnings.append(Alert("danger", "WhatsApp is not connected", health.token_note))
    elif health.token == "invalid":
        warnings.append(
            Alert(
                "danger",
                "The access token does not work",
                f"{health.token_note} An owner must replace it; messages wait until then.",
            )
        )
    elif health.token == "no permission":
        warnings.append(
            Alert(
                "danger",
                "The access token lacks a permission",
                f"{health.token_note} Give the system user whatsapp_business_messaging and "
                "whatsapp_business_management.",
            )
        )
    warnings += _webhook_warnings(tenant, health, last_send_at, now)
    for item in health.numbers:
        if item.quality_level:
            warnings.append(
                Alert(
                    item.quality_level,
                    f"Quality of {item.number}: {item.quality}",
                    "Customers block or report this number's messages. Send fewer, more "
                    "wanted messages; check the number in WhatsApp Manager.",
                )
            )
    return warnings


def _webhook_warnings(tenant, health, last_send_at, now):
    warnings = []
    callback = f"/webhooks/whatsapp/{tenant.slug}/"
    if health.last_valid_webhook_at is None:
        warnings.append(
            Alert(
                "warning",
                "No signed webhook from Meta yet",
                f"Set the callback URL to https://<this host>{callback} with the tenant's verify "
                "token in the Meta App Dashboard, and subscribe to the messages field.",
            )
        )
    elif last_send_at and last_send_at > health.last_valid_webhook_at and now - last_send_at > WEBHOOK_SILENCE:
        warnings.append(
            Alert(
                "danger",
                "Webhooks have stopped arriving",
                f"Messages went out at {timezone.localtime(last_send_at):%Y-%m-%d %H:%M} but no "
                "webhook came since, so delivery ticks cannot move. Check the webhook subscription "
                f"and the callback URL ({callback}) in the Meta App Dashboard.",
            )
        )
    if health.bad_signatures:
        warnings.append(
            Alert(
                "danger",
                f"{_webhooks(health.bad_signatures)} had a missing or wrong signature",
                "They were not processed. If the Meta app's secret changed, update it in the connection settings.",
            )
        )
    if health.failed_events:
        warnings.append(
            Alert(
                "warning",
                f"{_webhooks(health.failed_events)} could not be processed",
                "The logs page shows why; replay them once the cause is fixed.",
            )
        )
    return warnings


def _webhooks(count):
    return f"{count:,} webhook{'' if count == 1 else 's'}"


class CheckFailed(Exception):
    pass


def check_numbers(tenant):
    """Ask the Graph API for each number's quality, messaging limit and name, and keep them.
    Returns the numbers; raises CheckFailed with the reason in words."""
    connection = _connection(tenant)
    if connection is None:
        raise CheckFailed("This tenant has no WhatsApp connection yet.")
    numbers = list(tenant.phone_numbers.order_by("pk"))
    for number in numbers:
        try:
            facts = cloud_api.get_number_health(number, connection)
        except cloud_api.CloudAPIError as error:
            logger.warning("Number check for %s failed: %s", number, error)
            raise CheckFailed(f"Checking {number} with WhatsApp failed: {error.for_agent}") from error
        changes = {name: value for name, value in facts.items() if value}
        PhoneNumber.objects.filter(pk=number.pk).update(**changes)
    return numbers
