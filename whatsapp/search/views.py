"""The search page: messages and contacts of the tenant that match the words typed."""

from django.db.models import Q
from django.shortcuts import render
from django.views.decorators.http import require_GET

from tenants.access import tenant_view
from whatsapp.models import Message
from whatsapp.search import queries as search

MESSAGES_PER_PAGE = 25
CONTACTS_SHOWN = 5


def _older_than(messages, tenant, before):
    """Key paging: the messages after the one with id `before`, in the page's order."""
    key = Message.objects.filter(tenant=tenant, pk=before).values("timestamp", "pk").first() if before else None
    if key is None:
        return messages
    return messages.filter(Q(timestamp__lt=key["timestamp"]) | Q(timestamp=key["timestamp"], pk__lt=key["pk"]))


@require_GET
@tenant_view()
def search_page(request, membership):
    tenant = membership.tenant
    query = request.GET.get("q", "").strip()[: search.MAX_QUERY_LENGTH]
    before = search.page_key(request.GET.get("before"))
    page = list(_older_than(search.matching_messages(tenant, query), tenant, before)[: MESSAGES_PER_PAGE + 1])
    contacts = [] if before else list(search.matching_contacts(tenant, query, ranked=True)[: CONTACTS_SHOWN + 1])
    return render(
        request,
        "whatsapp/search.html",
        {
            "tenant": tenant,
            "membership": membership,
            "query": query,
            "searched": bool(search.terms_of(query)),
            "messages_found": page[:MESSAGES_PER_PAGE],
            "older_before": page[MESSAGES_PER_PAGE - 1].pk if len(page) > MESSAGES_PER_PAGE else None,
            "paged": before is not None,
            "contacts_found": contacts[:CONTACTS_SHOWN],
            "more_contacts": len(contacts) > CONTACTS_SHOWN,
        },
    )
