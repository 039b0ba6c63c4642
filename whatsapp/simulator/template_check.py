"""How the fake Graph API checks a template send against the template, as Meta does: every
placeholder of the header and body needs one parameter (named ones by name), a media header
needs media of its format, a location header a location, each dynamic URL, copy-code and
one-time-code button its parameter at its index. A wrong count is Meta's 132000, a
parameter of the wrong kind 132012, a missing one 131008."""

import re

PLACEHOLDER = re.compile(r"{{\s*(\w+)\s*}}")


class Refused(Exception):
    def __init__(self, code, message, details):
        super().__init__(details)
        self.code, self.message, self.details = code, message, details


def _count_mismatch(where, expected, got):
    return Refused(
        132000,
        "Number of parameters does not match the expected number of params",
        f"{where}: number of localizable_params ({got}) does not match the expected number of params ({expected})",
    )


def _format_mismatch(details):
    return Refused(132012, "Parameter format does not match format in the created template", details)


def _names(text):
    found = []
    for name in PLACEHOLDER.findall(text or ""):
        if name not in found:
            found.append(name)
    return found


def check(template, components):
    """Raise Refused when `components` (the send's) do not fit `template` (as listed).
    Returns the header's media id, if the header is media sent by id."""
    defined = {str(c.get("type", "")).upper(): c for c in template.get("components", [])}
    sent = {}
    for component in components:
        kind = str(component.get("type", "")).lower()
        if kind == "button":
            sent.setdefault("buttons", {})[str(component.get("index"))] = component
        else:
            sent[kind] = component
    media_id = _check_header(defined.get("HEADER"), sent.get("header"))
    _check_text("body", (defined.get("BODY") or {}).get("text", ""), sent.get("body"))
    _check_buttons(template, (defined.get("BUTTONS") or {}).get("buttons", []), sent.get("buttons", {}))
    return media_id


def _check_text(where, text, component):
    names = _names(text)
    parameters = (component or {}).get("parameters", [])
    if len(parameters) != len(names):
        raise _count_mismatch(where, len(names), len(parameters))
    for name, parameter in zip(names, parameters):
        if parameter.get("type") != "text" or not str(parameter.get("text", "")).strip():
            raise _format_mismatch(f"{where}: parameter {{{{{name}}}}} must be a non-empty text")
        if not name.isdigit() and parameter.get("parameter_name") != name:
            raise _format_mismatch(f"{where}: expected the named parameter {name}")


def _check_header(header, component):
    header_format = str((header or {}).get("format", "TEXT")).upper() if header else ""
    if header_format in ("", "TEXT"):
        _check_text("header", (header or {}).get("text", ""), component)
        return None
    parameters = (component or {}).get("parameters", [])
    if len(parameters) != 1:
        raise _count_mismatch("header", 1, len(parameters))
    kind = header_format.lower()
    parameter = parameters[0]
    if parameter.get("type") != kind or not isinstance(parameter.get(kind), dict):
        raise _format_mismatch(f"header: expected a {kind} parameter")
    value = parameter[kind]
    if kind == "location":
        missing = [key for key in ("latitude", "longitude") if value.get(key) in (None, "")]
        if missing:
            raise Refused(131008, "Required parameter is missing", f"header location: {missing[0]} is required")
        return None
    if not (value.get("id") or value.get("link")):
        raise Refused(131008, "Required parameter is missing", f"header {kind}: id or link is required")
    return value.get("id")


# The button kinds a send must give a parameter for, and that parameter's type.
BUTTON_PARAMETERS = {"url": "text", "copy_code": "coupon_code", "quick_reply": "payload"}


def _check_buttons(template, buttons, sent):
    expected = {}
    for index, button in enumerate(buttons):
        kind = str(button.get("type", "")).upper()
        authentication = str(template.get("category", "")).upper() == "AUTHENTICATION"
        if kind == "OTP" or (authentication and kind in ("URL", "COPY_CODE")):
            expected[str(index)] = ("url", True)
        elif kind == "URL" and PLACEHOLDER.search(button.get("url", "")):
            expected[str(index)] = ("url", True)
        elif kind == "COPY_CODE":
            expected[str(index)] = ("copy_code", True)
        elif kind == "QUICK_REPLY":
            expected[str(index)] = ("quick_reply", False)
    for index, component in sent.items():
        if index not in expected or component.get("sub_type") != expected[index][0]:
            raise _format_mismatch(f"button at index {index}: no {component.get('sub_type')} button there")
        parameters = component.get("parameters", [])
        wanted = BUTTON_PARAMETERS[expected[index][0]]
        if len(parameters) != 1:
            raise _count_mismatch(f"button at index {index}", 1, len(parameters))
        if parameters[0].get("type") != wanted or not str(parameters[0].get(wanted, "")).strip():
            raise _format_mismatch(f"button at index {index}: expected a non-empty {wanted} parameter")
    for index, (sub_type, required) in expected.items():
        if required and index not in sent:
            raise _count_mismatch(f"button at index {index} ({sub_type})", 1, 0)
