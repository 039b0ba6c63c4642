"""The search page: messages and contacts of the tenant that match the words typed."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from inbox import paging
from tenants.access import tenant_view
from whatsapp.models import Message
from whatsapp.search import queries as search

MESSAGES_PER_PAGE = 25
CONTACTS_SHOWN = 5


@require_GET
@tenant_view()
def search_page(request, membership):
    tenant = membership.tenant
    query = request.GET.get("q", "").strip()[: search.MAX_QUERY_LENGTH]
    before = paging.page_key(request.GET.get("before"))
    found, older = paging.older_page(
        search.matching_messages(tenant, query),
        before,
        scope=Message.objects.filter(tenant=tenant),
        by="timestamp",
        size=MESSAGES_PER_PAGE,
    )
    contacts = [] if before else list(search.matching_contacts(tenant, query, ranked=True)[: CONTACTS_SHOWN + 1])
    return render(
        request,
        "whatsapp/search.html",
        {
            "tenant": tenant,
            "membership": membership,
            "query": query,
            "searched": bool(search.terms_of(query)),
            "messages_found": found,
            "older_before": older,
            "paged": before is not None,
            "contacts_found": contacts[:CONTACTS_SHOWN],
            "more_contacts": len(contacts) > CONTACTS_SHOWN,
        },
    )
