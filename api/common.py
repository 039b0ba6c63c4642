"""Helpers the resource modules share: answering JSON, cursors, reading a row of the caller's
workspace."""

import json
import math
from typing import Annotated

from django.http import JsonResponse
from ninja import Path

from inbox import paging

from .problems import Problem

# Ids as the database takes them: anything else is a 422, never a query that overflows.
ID_MAX = 2**63 - 1
PathId = Annotated[int, Path(ge=1, le=ID_MAX)]


def answer(schema, value, status=200):
    """A JsonResponse of `value` validated by `schema` (POST views answer this themselves, so
    the idempotency layer can keep the body)."""
    return JsonResponse(schema.model_validate(value).model_dump(mode="json", by_alias=True), status=status, safe=False)


def cursor(value):
    """A cursor from a query string: the id of the last row of the previous page."""
    if value in (None, ""):
        return None
    key = paging.page_key(value)
    if key is None:
        raise Problem("validation-error", "cursor: not a cursor this API gave.")
    return key


def page(rows, next_key):
    return {"data": rows, "next_cursor": str(next_key) if next_key else None}


def strict_json(raw):
    """JSON that every field can hold: no NaN or Infinity (JSON has none; PostgreSQL's jsonb
    refuses them), no NUL character and no lone surrogate (PostgreSQL text refuses both)."""
    data = json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite)
    text = json.dumps(data, ensure_ascii=False)
    if "\\u0000" in text:
        raise Problem("invalid-json", "The body holds a NUL character (\\u0000), which no field accepts.")
    try:
        text.encode()
    except UnicodeEncodeError:
        raise Problem("invalid-json", "The body holds a lone UTF-16 surrogate, which is not text.")
    return data


def _refuse_constant(name):
    raise Problem("invalid-json", f"{name} is not a JSON number.")


def _finite(value):
    number = float(value)
    if not math.isfinite(number):
        raise Problem("invalid-json", f"{value[:30]} is too large a number.")
    return number
