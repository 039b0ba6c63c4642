"""What a message template asks for before it can be sent, and Meta's `template` object
once it is filled in (META_FACTS.md 9.2; PyWA's pywa/types/templates.py builds the same).

A template's components, as Meta lists them, become fields: one per header or body
parameter (labelled by the template's own names, {{1}} or {{first_name}}), the header's
media or location, and one per button that takes a value (a quick reply's payload, a URL's
suffix, a copy code). Authentication templates take one one-time code, which fills the body
and the copy-code button alike. `fill` checks the values and names the field of the first
one that is wrong, in a sentence."""

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from whatsapp import message_types
from whatsapp.errors import ActionError
from whatsapp.models import TEMPLATE_VARIABLE

MEDIA_HEADERS = ("IMAGE", "VIDEO", "DOCUMENT")
# Meta: a copy code (coupon or one-time password) has at most 15 characters.
CODE_MAX = 15
# Meta: a quick reply button's payload and a URL suffix are short strings; 1,000 is generous.
BUTTON_VALUE_MAX = 1000
LOCATION_PARTS = (("latitude", "latitude"), ("longitude", "longitude"), ("name", "name"), ("address", "address"))
URL_SUFFIX = re.compile(r"^\S+$")


@dataclass
class Field:
    """One value the agent gives. `key` is the form field's name."""

    key: str
    label: str
    kind: str  # text, payload, url, coupon_code, otp, image, video, document, location
    required: bool = True
    example: str = ""
    index: int | None = None  # a button's position among the template's buttons


@dataclass
class Shape:
    """A template's parts, as the form and the preview need them."""

    header_format: str = ""  # TEXT, IMAGE, VIDEO, DOCUMENT, LOCATION or ""
    header_text: str = ""
    body_text: str = ""
    footer_text: str = ""
    buttons: list = field(default_factory=list)  # Meta's button objects
    fields: list = field(default_factory=list)
    authentication: bool = False

    def preview(self):
        """What the page's script needs to draw the live preview."""
        return {
            "header_format": self.header_format,
            "header_text": self.header_text,
            "body_text": self.body_text,
            "footer_text": self.footer_text,
            "buttons": [{"type": _button_type(b), "text": _button_text(b)} for b in self.buttons],
            "fields": [{"key": f.key, "kind": f.kind, "label": f.label} for f in self.fields],
            "authentication": self.authentication,
        }


def _component(template, kind):
    for component in template.components or []:
        if isinstance(component, dict) and str(component.get("type", "")).upper() == kind:
            return component
    return {}


def _names(text):
    found = []
    for name in TEMPLATE_VARIABLE.findall(text or ""):
        if name not in found:
            found.append(name)
    return found


def _button_type(button):
    return str(button.get("type", "")).upper()


def _button_text(button):
    default = {"COPY_CODE": "Copy offer code", "OTP": "Copy code"}.get(_button_type(button), "")
    return str(button.get("text") or default)


def _is_otp(template, button):
    """Authentication templates' code button: listed as OTP, or as a URL button whose link
    carries the code (how older API versions list it)."""
    kind = _button_type(button)
    return kind == "OTP" or (template.category.upper() == "AUTHENTICATION" and kind in ("URL", "COPY_CODE"))


def shape_of(template):
    """The template's parts and the fields its sending needs, in the order Meta reads them."""
    header, body = _component(template, "HEADER"), _component(template, "BODY")
    shape = Shape(
        header_format=str(header.get("format", "TEXT" if header else "")).upper(),
        header_text=header.get("text", "") if header else "",
        body_text=body.get("text", ""),
        footer_text=_component(template, "FOOTER").get("text", ""),
        buttons=[b for b in _component(template, "BUTTONS").get("buttons", []) if isinstance(b, dict)],
        authentication=template.category.upper() == "AUTHENTICATION",
    )
    if shape.authentication:
        shape.fields.append(Field("code", "One-time code", "otp"))
        return shape
    if shape.header_format == "TEXT":
        shape.fields += [
            Field(f"header.{n}", f"Header parameter {{{{{n}}}}}", "text") for n in _names(shape.header_text)
        ]
    elif shape.header_format in MEDIA_HEADERS:
        kind = shape.header_format.lower()
        shape.fields.append(Field("header_media", f"Header {kind}", kind))
    elif shape.header_format == "LOCATION":
        shape.fields.append(Field("header_location", "Header location", "location"))
    shape.fields += [Field(f"body.{n}", f"Body parameter {{{{{n}}}}}", "text") for n in _names(shape.body_text)]
    for index, button in enumerate(shape.buttons):
        shape.fields += _button_fields(index, button)
    return shape


def _button_fields(index, button):
    kind, text = _button_type(button), _button_text(button)
    if kind == "QUICK_REPLY":
        return [Field(f"button.{index}", f"Quick reply button “{text}” payload", "payload", required=False)]
    if kind == "URL" and TEMPLATE_VARIABLE.search(button.get("url", "")):
        example = (button.get("example") or [""])[0] if isinstance(button.get("example"), list) else ""
        return [Field(f"button.{index}", f"URL button “{text}” suffix", "url", example=example, index=index)]
    if kind == "COPY_CODE":
        return [Field(f"button.{index}", f"Copy code button “{text}” code", "coupon_code", index=index)]
    return []  # a phone number, a static URL: nothing to fill


@dataclass
class Filled:
    """A template with its values: Meta's `template` object (a media header from a file
    has its id set by the sender, once uploaded), and the texts as the customer reads them."""

    payload: dict
    header_text: str = ""
    body_text: str = ""
    header_media_kind: str = ""


def _clean(value):
    # Meta refuses newlines, tabs and runs of spaces in a parameter; one line it is.
    return " ".join(str(value or "").split())


def fill(template, values, *, header_media=None):
    """Check `values` (field key -> text; a header location is a dict of its four parts)
    and build Meta's `template` object. `header_media` is the header's media parameter
    object, {"link": …} or {} for a file the sender uploads. Raises ActionError naming the
    first field that is wrong."""
    shape = shape_of(template)
    clean = {key: (value if isinstance(value, dict) else _clean(value)) for key, value in values.items()}
    if shape.authentication:
        return _fill_authentication(template, shape, clean)
    components = []
    header_text = shape.header_text
    if shape.header_format == "TEXT" and _names(shape.header_text):
        parameters = _text_parameters("Header", "header", _names(shape.header_text), clean)
        header_text = _substitute(shape.header_text, parameters)
        components.append({"type": "header", "parameters": parameters})
    elif shape.header_format in MEDIA_HEADERS:
        kind = shape.header_format.lower()
        if header_media is None:
            raise ActionError(f"The header {kind} is missing: upload one or pick one from the workspace.")
        components.append({"type": "header", "parameters": [{"type": kind, kind: dict(header_media)}]})
    elif shape.header_format == "LOCATION":
        components.append({"type": "header", "parameters": [_location(clean.get("header_location") or {})]})
    body_names = _names(shape.body_text)
    body_parameters = _text_parameters("Body", "body", body_names, clean)
    if body_parameters:
        components.append({"type": "body", "parameters": body_parameters})
    components += _button_components(shape, clean)
    payload = {"name": template.name, "language": {"code": template.language}, "components": components}
    return Filled(
        payload,
        header_text=header_text if shape.header_format == "TEXT" else "",
        body_text=_substitute(shape.body_text, body_parameters),
        header_media_kind=shape.header_format.lower() if shape.header_format in MEDIA_HEADERS else "",
    )


def _text_parameters(where, prefix, names, clean):
    parameters = []
    for name in names:
        value = clean.get(f"{prefix}.{name}", "")
        if not value:
            raise ActionError(f"{where} parameter {{{{{name}}}}} is empty.")
        if len(value) > message_types.TEMPLATE_VALUE_MAX:
            raise ActionError(
                f"{where} parameter {{{{{name}}}}} is longer than {message_types.TEMPLATE_VALUE_MAX:,} characters."
            )
        parameter = {"type": "text", "text": value}
        if not name.isdigit():
            parameter["parameter_name"] = name
        parameters.append(parameter)
    return parameters


def _substitute(text, parameters):
    by_name = {}
    for position, parameter in enumerate(parameters, start=1):
        by_name[parameter.get("parameter_name", str(position))] = parameter["text"]
    return TEMPLATE_VARIABLE.sub(lambda match: by_name.get(match.group(1), match.group(0)), text or "")


def _location(parts):
    location = {}
    for key, label in LOCATION_PARTS:
        value = _clean(parts.get(key, ""))
        if not value:
            raise ActionError(f"The header location's {label} is empty.")
        location[key] = value
    for key, limit in (("latitude", 90), ("longitude", 180)):
        try:
            number = Decimal(location[key])
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or abs(number) > limit:
            raise ActionError(f"The header location's {key} must be a number between -{limit} and {limit}.")
        location[key] = float(number)
    return {"type": "location", "location": location}


def _button_components(shape, clean):
    components = []
    for index, button in enumerate(shape.buttons):
        kind, text = _button_type(button), _button_text(button)
        value = clean.get(f"button.{index}", "")
        if kind == "QUICK_REPLY":
            # Meta echoes the payload back when the customer taps; the button's text by default.
            payload = value or text
            if len(payload) > BUTTON_VALUE_MAX:
                raise ActionError(f"The quick reply button “{text}” payload is too long.")
            parameter = {"type": "payload", "payload": payload}
            components.append(_button("quick_reply", index, parameter))
        elif kind == "URL" and TEMPLATE_VARIABLE.search(button.get("url", "")):
            if not value:
                raise ActionError(f"The URL button “{text}” needs its URL suffix.")
            if not URL_SUFFIX.match(value) or len(value) > BUTTON_VALUE_MAX:
                raise ActionError(f"The URL button “{text}” suffix must be one piece of a link, without spaces.")
            components.append(_button("url", index, {"type": "text", "text": value}))
        elif kind == "COPY_CODE":
            if not value:
                raise ActionError(f"The copy code button “{text}” needs a code.")
            if len(value) > CODE_MAX:
                raise ActionError(f"The copy code button “{text}” code may have at most {CODE_MAX} characters.")
            components.append(_button("copy_code", index, {"type": "coupon_code", "coupon_code": value}))
    return components


def _button(sub_type, index, parameter):
    return {"type": "button", "sub_type": sub_type, "index": str(index), "parameters": [parameter]}


def _fill_authentication(template, shape, clean):
    """An authentication template carries the code twice: as the body's parameter, and as
    the parameter of its code button (a URL button to Meta, whatever its otp_type)."""
    code = clean.get("code", "")
    if not code:
        raise ActionError("The one-time code is empty.")
    if len(code) > CODE_MAX:
        raise ActionError(f"The one-time code may have at most {CODE_MAX} characters.")
    parameter = {"type": "text", "text": code}
    components = [{"type": "body", "parameters": [parameter]}]
    for index, button in enumerate(shape.buttons):
        if _is_otp(template, button):
            components.append(_button("url", index, dict(parameter)))
    payload = {"name": template.name, "language": {"code": template.language}, "components": components}
    return Filled(payload, body_text=_substitute(shape.body_text, [parameter]))


def values_from_post(template, post):
    """The form's values by field key; the older form's `values` list fills the text
    parameters (header, then body) in order."""
    shape = shape_of(template)
    values = {}
    listed = post.getlist("values")
    text_fields = [f for f in shape.fields if f.kind in ("text", "otp")]
    for spec in shape.fields:
        if spec.kind == "location":
            values[spec.key] = {key: post.get(f"header_location.{key}", "") for key, _ in LOCATION_PARTS}
        elif spec.key in post:
            values[spec.key] = post.get(spec.key, "")
    if listed and not any(spec.key in post for spec in text_fields):
        values.update({spec.key: value for spec, value in zip(text_fields, listed)})
    return values
