"""Input no field can hold, refused at the door with a reason.

PostgreSQL text cannot contain NUL, so a NUL reaching a query (a search's `?q=`, a note's
text) raised a database error deep inside a view: a 500. No field of the app accepts one,
so any parameter holding one is a 400 before a view runs."""

from django.http import HttpResponseBadRequest

NUL = "\x00"


def _holds_nul(params):
    return any(NUL in key or any(NUL in value for value in values) for key, values in params.lists())


class RejectNulCharacters:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view, args, kwargs):
        # After CSRF's process_view, which has parsed the form already. Machine endpoints
        # (CSRF-exempt: the webhook) read their raw bodies themselves and are left to do so.
        form = request.method == "POST" and not getattr(view, "csrf_exempt", False)
        if _holds_nul(request.GET) or (form and _holds_nul(request.POST)):
            return HttpResponseBadRequest(
                "The request holds a NUL character (\\x00), which no field accepts.", content_type="text/plain"
            )
        return None
