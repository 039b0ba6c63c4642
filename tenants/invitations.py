"""Invitations: the only way the pages bring someone into a workspace. Nobody joins without
opening the link and accepting; no page ever sets another person's password.

The link carries a signature (SECRET_KEY, SALT) of the invitation's id and a random nonce
kept on the row, so it can be shown again while the invitation is open, and a database
reader without the SECRET_KEY cannot make one. Closing an invitation empties its nonce."""

import logging
import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from . import audit
from .models import Invitation, Membership, Tenant
from .setup import add_member

logger = logging.getLogger(__name__)

LIFETIME = timedelta(days=7)
SALT = "tenants.invitation"


class InvitationError(Exception):
    """The link cannot be used (now, or by this person); `reason` says why, in words for the
    person holding it, and `status` is the page's HTTP status."""

    def __init__(self, reason, status=410):
        super().__init__(reason)
        self.reason, self.status = reason, status


NOT_VALID = "This invitation link is not valid. Check that you copied all of it."
USED = "This invitation has already been used."
REVOKED = "This invitation was withdrawn. Ask the person who invited you for a new one."
REPLACED = "A newer invitation replaced this link. Use the link in the most recent email."
EXPIRED = "This invitation has expired. Ask the person who invited you for a new one."


def token_for(invitation):
    # No timestamp in it: the row holds the expiry, and the link stays the same when resent.
    return signing.Signer(salt=SALT).sign_object([invitation.pk, invitation.nonce])


def link_for(invitation, request):
    """The full link, on the host the request came to."""
    return request.build_absolute_uri(reverse("invitation", args=[token_for(invitation)]))


def access_by_token(token):
    """The invitation a link opens; raises InvitationError for a tampered, closed,
    replaced or expired link, or one to a workspace that is switched off."""
    try:
        invitation_id, nonce = signing.Signer(salt=SALT).unsign_object(token)
        invitation = (
            Invitation.objects.select_related("tenant", "invited_by")
            .filter(pk=int(invitation_id), tenant__active=True)
            .first()
        )
    except (signing.BadSignature, ValueError, TypeError):
        invitation = None
    if invitation is None:
        raise InvitationError(NOT_VALID, status=404)
    _check_usable(invitation, str(nonce))
    return invitation


def _check_usable(invitation, nonce):
    if invitation.accepted_at is not None:
        raise InvitationError(USED)
    if invitation.revoked_at is not None:
        raise InvitationError(REVOKED)
    if not invitation.nonce or not constant_time_compare(invitation.nonce, nonce):
        raise InvitationError(REPLACED)
    if invitation.is_expired:
        raise InvitationError(EXPIRED)


def _locked(invitation):
    """The row again, locked against a concurrent accept, revoke or renewal, and still usable
    with the nonce `invitation` was opened with."""
    locked = Invitation.objects.select_for_update(of=("self",)).select_related("tenant").get(pk=invitation.pk)
    _check_usable(locked, invitation.nonce)
    return locked


def _locked_open(invitation):
    """For the workspace's own pages: the row again, locked, if it is still open."""
    locked = (
        open_for(invitation.tenant)
        .select_for_update(of=("self",))
        .select_related("tenant")
        .filter(pk=invitation.pk)
        .first()
    )
    if locked is None:
        raise InvitationError("This invitation was accepted or withdrawn meanwhile.", status=409)
    return locked


def open_for(tenant):
    return (
        Invitation.objects.filter(tenant=tenant, accepted_at__isnull=True, revoked_at__isnull=True)
        .select_related("invited_by")
        .order_by("email")
    )


def is_member(tenant, email):
    return Membership.objects.filter(tenant=tenant, user__email__iexact=email.strip()).exists()


def has_account(invitation):
    return get_user_model().objects.filter(email__iexact=invitation.email).exists()


def is_for(invitation, user):
    return user.is_authenticated and user.email.lower() == invitation.email


def invite(tenant, email, *, role, actor, request):
    """Invite `email` with `role` and mail them the link. An open invitation to the same email
    is renewed (new link, new expiry, this role) rather than doubled. Preconditions, checked
    by the caller: `actor` may give `role`, and `email` is not a member yet. Whether the email
    has an account anywhere plays no part: the answer must not tell."""
    email, now = email.strip().lower(), timezone.now()
    with transaction.atomic():
        # Two admins inviting the same email at once: the second waits, then renews.
        Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
        invitation = open_for(tenant).filter(email=email).first()
        renewed = invitation is not None
        invitation = invitation or Invitation(tenant=tenant, email=email, created_at=now)
        invitation.role, invitation.invited_by, invitation.nonce = role, actor, secrets.token_urlsafe(32)
        invitation.sent_at, invitation.expires_at = now, now + LIFETIME
        invitation.save()
        audit.record(
            tenant,
            audit.Action.INVITATION_CREATED,
            actor=actor,
            target=email,
            details={"role": role, "renewed": renewed},
            request=request,
        )
        _mail_after_commit(invitation, request)
    return invitation


@transaction.atomic
def resend(invitation, *, actor, request):
    """Mail the same link again; it works for LIFETIME from now (an expired one comes back).
    Raises InvitationError if it was accepted or revoked since the page showed it."""
    invitation, now = _locked_open(invitation), timezone.now()
    invitation.sent_at, invitation.expires_at = now, now + LIFETIME
    invitation.save(update_fields=["sent_at", "expires_at"])
    audit.record(
        invitation.tenant,
        audit.Action.INVITATION_RESENT,
        actor=actor,
        target=invitation.email,
        details={"role": invitation.role},
        request=request,
    )
    _mail_after_commit(invitation, request)
    return invitation


@transaction.atomic
def revoke(invitation, *, actor, request):
    """Close the invitation: its link opens nothing from now on. Raises InvitationError if it
    was accepted or revoked since the page showed it."""
    invitation = _locked_open(invitation)
    invitation.revoked_at, invitation.nonce = timezone.now(), ""
    invitation.save(update_fields=["revoked_at", "nonce"])
    audit.record(
        invitation.tenant,
        audit.Action.INVITATION_REVOKED,
        actor=actor,
        target=invitation.email,
        details={"role": invitation.role},
        request=request,
    )
    return invitation


@transaction.atomic
def accept(invitation, user, *, request):
    """`user`, logged in, joins with the invitation's role. Raises InvitationError if the
    invitation is for another email or stopped being usable since it was opened."""
    invitation = _locked(invitation)
    if not is_for(invitation, user):
        raise InvitationError("This invitation is for another account.", status=403)
    return _join(invitation, user, request)


@transaction.atomic
def join_as_new_person(invitation, *, password, name, request):
    """Make the invited person's account with the password they chose, and join. Raises
    InvitationError if an account with the email appeared since the link was opened: its
    owner logs in instead."""
    invitation = _locked(invitation)
    if has_account(invitation):
        raise InvitationError("An account with this email exists. Log in, then open the link again.", status=409)
    user = get_user_model().objects.create_user(email=invitation.email, password=password, name=name)
    _join(invitation, user, request)
    return user


def _join(invitation, user, request):
    invitation.accepted_at, invitation.accepted_by, invitation.nonce = timezone.now(), user, ""
    invitation.save(update_fields=["accepted_at", "accepted_by", "nonce"])
    audit.record(
        invitation.tenant,
        audit.Action.INVITATION_ACCEPTED,
        actor=user,
        target=user.email,
        details={"role": invitation.role},
        request=request,
    )
    membership = Membership.objects.filter(tenant=invitation.tenant, user=user).first()
    # Someone who became a member meanwhile (the add_member command) keeps the role they have.
    return membership or add_member(invitation.tenant, user.email, role=invitation.role, actor=user, request=request)


def _mail_after_commit(invitation, request):
    context = {
        "invitation": invitation,
        "tenant": invitation.tenant,
        "link": link_for(invitation, request),
        "inviter": invitation.invited_by,
        "days": LIFETIME.days,
    }
    subject = " ".join(render_to_string("tenants/invitation_subject.txt", context).split())
    body = render_to_string("tenants/invitation_email.txt", context)
    transaction.on_commit(lambda: _send(subject, body, invitation.email))


def _send(subject, body, to):
    # The admin can still copy the link from the members page: a mail server that is down
    # must not turn the invitation into an error page. Logged without the body (the link).
    try:
        send_mail(subject, body, None, [to])
    except Exception:
        logger.exception("Could not mail an invitation to %s", to)
