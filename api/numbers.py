"""Business numbers: the workspace's numbers and their health; the WhatsApp Business
Account's numbers, adding one (registering it with its PIN) and removing one; a number's
business profile. Changes go through the number actions the owners' numbers page uses."""

from typing import Annotated

from ninja import Path, Router, Schema

from dashboard import health
from whatsapp.models import PhoneNumber
from whatsapp.numbers import actions as numbers

from . import auth
from .common import answer
from .idempotency import idempotent
from .messages import ERRORS
from .models import Scope
from .problems import Problem
from .schemas import AccountNumberOut, NumberAdd, NumberOut, ProfileChange, ProfileOut, RemovalOut

router = Router(tags=["numbers"])

NUMBER_FIELDS = ("phone_number_id", "display_phone_number", "verified_name", "quality_rating", "messaging_limit")
PROFILE_TEXTS = ("about", "address", "description", "email", "vertical")
# Meta's id of a business number: digits.
PhoneNumberId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9]+$")]


class NumberList(Schema):
    data: list[NumberOut]


class AccountNumberList(Schema):
    data: list[AccountNumberOut]


@router.get("/numbers", response={200: NumberList, **ERRORS}, operation_id="list_numbers")
def list_numbers(request):
    """The workspace's numbers."""
    auth.require(request, Scope.READ)
    return {"data": _numbers(request)}


@router.post("/numbers", response={201: NumberOut, **ERRORS}, summary="Add a number", operation_id="add_number")
@idempotent
def add_number(request, body: NumberAdd):
    """Add one of the account's numbers (`GET /numbers/account`) to the workspace. A number
    Meta has not registered for the Cloud API yet is registered first with its six-digit
    two-step verification `pin`."""
    acting = auth.require_owner(request)
    number = numbers.add_number(acting, body.phone_number_id, body.pin, request=request)
    return answer(NumberOut, number_out(number), status=201)


@router.post("/numbers/health", response={200: NumberList, **ERRORS}, operation_id="check_numbers")
@idempotent
def check_numbers(request):
    """Ask Meta now for each number's quality rating, messaging limit and name, and keep them."""
    auth.require(request, Scope.READ)
    try:
        health.check_numbers(request.auth.tenant)
    except health.CheckFailed as error:
        raise Problem("meta-error", str(error))
    return answer(NumberList, {"data": _numbers(request)})


@router.get(
    "/numbers/account",
    response={200: AccountNumberList, **ERRORS},
    summary="The WhatsApp Business Account's numbers",
    operation_id="list_account_numbers",
)
def list_account_numbers(request):
    """Every number of the workspace's WhatsApp Business Account as Meta lists it, and
    whether it is in the workspace."""
    auth.require(request, Scope.READ)
    listed = numbers.account_numbers(request.auth.tenant)
    return {
        "data": [
            {
                **{name: getattr(row, name) for name in AccountNumberOut.model_fields if name != "added"},
                "added": row.added is not None,
            }
            for row in listed
        ]
    }


@router.delete(
    "/numbers/{phone_number_id}",
    response={200: RemovalOut, **ERRORS},
    summary="Remove a number",
    operation_id="remove_number",
)
def remove_number(request, phone_number_id: PhoneNumberId):
    """Remove the number from the workspace with its conversations and their messages (it
    stays in the WhatsApp Business Account). Refused while messages wait to be sent from it,
    and for the workspace's only number."""
    acting = auth.require_owner(request)
    facts = numbers.remove_number(acting, _number(request, phone_number_id), request=request)
    return {"conversations": facts["conversations"], "messages": facts["messages"]}


@router.get(
    "/numbers/{phone_number_id}/profile",
    response={200: ProfileOut, **ERRORS},
    operation_id="read_business_profile",
)
def read_business_profile(request, phone_number_id: PhoneNumberId):
    """The number's WhatsApp business profile, as Meta has it."""
    auth.require(request, Scope.READ)
    return numbers.business_profile(_number(request, phone_number_id))


@router.patch(
    "/numbers/{phone_number_id}/profile",
    response={200: ProfileOut, **ERRORS},
    operation_id="update_business_profile",
)
def update_business_profile(request, phone_number_id: PhoneNumberId, body: ProfileChange):
    """Change the fields given (Meta's limits: about 139 characters and required, address
    256, description 512, email 128, at most 2 websites starting with https://, a vertical of
    Meta's list); the others stay."""
    acting = auth.require_owner(request)
    number = _number(request, phone_number_id)
    current = numbers.business_profile(number)
    fields = {name: current[name] for name in PROFILE_TEXTS} | {"websites": "\n".join(current["websites"])}
    for name, value in body.model_dump(exclude_none=True).items():
        fields[name] = "\n".join(value) if name == "websites" else value
    saved = numbers.update_business_profile(acting, number, fields, request=request)
    return saved | {"profile_picture_url": current.get("profile_picture_url", "")}


def _number(request, phone_number_id):
    number = PhoneNumber.objects.filter(tenant=request.auth.tenant, phone_number_id=phone_number_id).first()
    if number is None:
        raise Problem("not-found", "No such number in this workspace.")
    return number


def _numbers(request):
    return [number_out(number) for number in PhoneNumber.objects.filter(tenant=request.auth.tenant).order_by("pk")]


def number_out(number):
    return {field: getattr(number, field) for field in NUMBER_FIELDS}
