"""`Idempotency-Key` on POST: the same key with the same request gets the first answer again
and does nothing twice; the same key with another request is refused (422). Answers are
kept IDEMPOTENCY_HOURS (24); members named as secrets (a webhook's signing secret) are kept
encrypted with FIELD_ENCRYPTION_KEYS, as the rows they come from keep them.

The key's row is inserted in the transaction that does the work and holds the answer, so a
retry that arrives while the first attempt runs waits on the unique index, then reads the
committed answer; an attempt that fails rolls back and leaves no row, so a retry runs again."""

import hashlib
import json
from datetime import timedelta
from functools import wraps

from django.db import transaction
from django.http import JsonResponse
from django.utils import timezone

from inbox import crypto

from .models import IdempotentRequest
from .problems import Problem

IDEMPOTENCY_HOURS = 24
HEADER = "Idempotency-Key"
KEY_MAX = 255


def request_hash(request):
    """What makes two requests the same: method, path and body. A multipart body (a file
    upload, read already) counts by its fields and its files' contents, not its boundary."""
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), *_body_parts(request)):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _body_parts(request):
    if not request.content_type.startswith("multipart/"):
        yield request.body
        return
    for name, values in sorted(request.POST.lists()):
        yield from (name.encode(), *(value.encode() for value in values))
    for name, files in sorted(request.FILES.lists()):
        for upload in files:
            upload.seek(0)
            content = hashlib.sha256()
            for chunk in upload.chunks():
                content.update(chunk)
            upload.seek(0)
            yield from (name.encode(), upload.name.encode(), content.digest())


def _checked(value):
    if not value or len(value) > KEY_MAX or not value.isascii() or not value.isprintable():
        raise Problem("bad-request", f"An {HEADER} is 1 to {KEY_MAX} printable ASCII characters.")
    return value


def idempotent(view=None, *, secrets=()):
    """Decorate a POST view that returns an HttpResponse with a JSON body (of an object when
    `secrets` names members of it to keep encrypted)."""
    if view is None:
        return lambda view: idempotent(view, secrets=secrets)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        value = request.headers.get(HEADER)
        if value is None:
            return view(request, *args, **kwargs)
        value, digest = _checked(value), request_hash(request)
        with transaction.atomic():
            cutoff = timezone.now() - timedelta(hours=IDEMPOTENCY_HOURS)
            IdempotentRequest.objects.filter(api_key=request.auth, created_at__lt=cutoff).delete()
            kept, created = IdempotentRequest.objects.get_or_create(
                api_key=request.auth, key=value, defaults={"request_hash": digest}
            )
            if not created:
                return _replay(kept, digest, secrets)
            answer = view(request, *args, **kwargs)
            kept.status_code, kept.body = (
                answer.status_code,
                _sealed(json.loads(answer.content), secrets, crypto.encrypt),
            )
            kept.save(update_fields=["status_code", "body"])
        return answer

    return wrapper


def _sealed(body, secrets, seal):
    """The body with its `secrets` members passed through `seal` (encrypt or decrypt)."""
    if isinstance(body, dict):
        return {
            name: seal(value) if name in secrets and isinstance(value, str) else value for name, value in body.items()
        }
    return body


def _replay(kept, digest, secrets=()):
    if kept.request_hash != digest:
        raise Problem(
            "idempotency-key-reused",
            f"This {HEADER} was used in the last {IDEMPOTENCY_HOURS} hours for a different request.",
        )
    answer = JsonResponse(_sealed(kept.body, secrets, crypto.decrypt), status=kept.status_code, safe=False)
    answer["Idempotent-Replayed"] = "true"
    return answer
