"""Calls to Meta that an owner or admin asks for from a page or the API: the WhatsApp
Business Account's numbers, their profiles, its templates. The tenant's Connection, and
Meta's refusal as an ActionError in words the page or the API shows."""

from whatsapp.cloud.api import CloudAPIError
from whatsapp.errors import ActionError
from whatsapp.models import Connection


def connection_of(tenant):
    """The tenant's Connection (its tenant selected too); ActionError while a platform admin
    has not set one up."""
    try:
        return Connection.objects.select_related("tenant").get(tenant=tenant)
    except Connection.DoesNotExist:
        raise ActionError("Connect the workspace to WhatsApp first.")


def at_meta(call, *args, meta_words_only=False):
    """call(*args), with Meta's refusal raised as an ActionError: in the words agents get
    (CloudAPIError.for_agent), or with meta_words_only in Meta's own, which for a template
    name the part it refused."""
    try:
        return call(*args)
    except CloudAPIError as error:
        said = (error.details or error.message) if meta_words_only else error.for_agent
        raise ActionError(f"Meta refused it: {said}") from error
