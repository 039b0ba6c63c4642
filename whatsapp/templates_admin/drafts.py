"""A template as the form describes it, and Meta's components for it (and back again, to
edit one). Meta's rules that a form can check are checked here, each naming its field;
what only Meta can judge comes back from its review."""

import re
from dataclasses import dataclass, field

from pywa.types.templates import TemplateLanguage

from whatsapp.models import TEMPLATE_VARIABLE

NAME = re.compile(r"[a-z0-9_]{1,512}")
CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
HEADER_FORMATS = ("TEXT", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION")
MEDIA_HEADERS = {"IMAGE": "image", "VIDEO": "video", "DOCUMENT": "document"}
LANGUAGES = sorted(language.value for language in TemplateLanguage if language.value != "None")
# Meta's limits (WhatsApp Manager shows the same).
HEADER_MAX, BODY_MAX, FOOTER_MAX, BUTTON_TEXT_MAX, QUICK_REPLIES_MAX = 60, 1024, 60, 25, 10


class DraftError(Exception):
    """What is wrong with a draft, per field: {field name: message}."""

    def __init__(self, errors):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass
class Draft:
    name: str
    language: str
    category: str
    body: str = ""
    body_examples: list = field(default_factory=list)
    header_format: str = "TEXT"
    header: str = ""
    header_example: str = ""
    header_handle: str = ""  # Meta's handle of the media header's example file
    header_file: object = field(default=None, compare=False, repr=False)  # a new example file to upload
    footer: str = ""
    quick_replies: list = field(default_factory=list)
    url_text: str = ""
    url: str = ""
    url_example: str = ""
    phone_text: str = ""
    phone_number: str = ""

    @classmethod
    def from_form(cls, data, files=None):
        """A draft from the form's fields (a QueryDict or a dict of strings) and, for a media
        header, its example file (`files["header_file"]`)."""

        def text(name):
            return str(data.get(name) or "").replace("\r\n", "\n").strip()

        return cls(
            name=text("name"),
            language=text("language"),
            category=text("category").upper(),
            body=text("body"),
            body_examples=[line.strip() for line in text("body_examples").split("\n") if line.strip()],
            header_format=text("header_format").upper() or "TEXT",
            header=text("header"),
            header_example=text("header_example"),
            header_handle=text("header_handle"),
            header_file=(files or {}).get("header_file"),
            footer=text("footer"),
            quick_replies=[line.strip() for line in text("quick_replies").split("\n") if line.strip()],
            url_text=text("url_text"),
            url=text("url"),
            url_example=text("url_example"),
            phone_text=text("phone_text"),
            phone_number=text("phone_number"),
        )

    def form_values(self):
        return {
            **{name: getattr(self, name) for name in self.__dataclass_fields__ if name != "header_file"},
            "body_examples": "\n".join(self.body_examples),
            "quick_replies": "\n".join(self.quick_replies),
        }

    def check(self):
        """Raise DraftError naming every field Meta would refuse."""
        errors = {}
        if not NAME.fullmatch(self.name):
            errors["name"] = "Name: lowercase letters, digits and _ only, such as order_update."
        if self.language not in LANGUAGES:
            errors["language"] = f"Language: {self.language or 'none'} is not one of Meta's codes (en_US, es, pt_BR…)."
        if self.category not in CATEGORIES:
            errors["category"] = "Category: choose marketing, utility or authentication."
        if self.category == "AUTHENTICATION":
            return _raise_if(errors)  # Meta writes an authentication template's text itself
        errors.update(self._check_texts())
        errors.update(self._check_buttons())
        return _raise_if(errors)

    def _check_texts(self):
        errors = {}
        if not self.body:
            errors["body"] = "Body: write the message's text."
        elif len(self.body) > BODY_MAX:
            errors["body"] = f"Body: at most {BODY_MAX:,} characters."
        variables = body_variables(self.body)
        if _mixed(variables):
            errors["body"] = "Body: use numbered variables ({{1}}, {{2}}…) or named ones ({{first_name}}), not both."
        elif variables[:1] and variables[0].isdigit() and variables != [str(i) for i in range(1, len(variables) + 1)]:
            errors["body"] = "Body: number the variables in order from {{1}}, each once."
        if len(self.body_examples) != len(variables):
            names = ", ".join("{{" + name + "}}" for name in variables) or "none"
            errors["body_examples"] = (
                f"Body examples: one example per line for each variable ({names}); {len(self.body_examples)} given."
            )
        if self.header_format not in HEADER_FORMATS:
            errors["header_format"] = "Header: choose text, image, video, document or location."
        elif self.header_format in MEDIA_HEADERS and not (self.header_handle or self.header_file):
            kind = MEDIA_HEADERS[self.header_format]
            errors["header_file"] = f"Header example: Meta reviews an example {kind}; choose a file."
        header_variables = body_variables(self.header) if self.header_format == "TEXT" else []
        if len(self.header) > HEADER_MAX:
            errors["header"] = f"Header: at most {HEADER_MAX} characters."
        elif len(header_variables) > 1:
            errors["header"] = "Header: at most one variable."
        elif header_variables and not self.header_example:
            errors["header_example"] = "Header example: give an example for the header's variable."
        if len(self.footer) > FOOTER_MAX:
            errors["footer"] = f"Footer: at most {FOOTER_MAX} characters."
        return errors

    def _check_buttons(self):
        errors = {}
        if len(self.quick_replies) > QUICK_REPLIES_MAX:
            errors["quick_replies"] = f"Quick replies: at most {QUICK_REPLIES_MAX}."
        if any(len(reply) > BUTTON_TEXT_MAX for reply in self.quick_replies):
            errors["quick_replies"] = f"Quick replies: each at most {BUTTON_TEXT_MAX} characters."
        if bool(self.url_text) != bool(self.url) or len(self.url_text) > BUTTON_TEXT_MAX:
            errors["url"] = f"Website button: give both its text (at most {BUTTON_TEXT_MAX} characters) and its URL."
        elif self.url and not re.fullmatch(r"https?://\S+", self.url):
            errors["url"] = "Website button: the URL starts with https:// (or http://)."
        elif "{{" in self.url and not (self.url.endswith("{{1}}") and self.url_example.startswith("http")):
            errors["url_example"] = "Website button: a dynamic URL ends in {{1}} and needs a full example URL."
        if bool(self.phone_text) != bool(self.phone_number) or len(self.phone_text) > BUTTON_TEXT_MAX:
            errors["phone_number"] = f"Call button: give both its text (at most {BUTTON_TEXT_MAX}) and the number."
        elif self.phone_number and not re.fullmatch(r"\+?\d{6,20}", self.phone_number.replace(" ", "")):
            errors["phone_number"] = "Call button: the number in international form, such as +15550001111."
        return errors

    def meta_template(self):
        """Meta's create call's body: name, language, category, parameter_format, components."""
        template = {"name": self.name, "language": self.language, "category": self.category}
        template.update(self.meta_components())
        return template

    def meta_components(self):
        """{"components": […]} (and the parameter format when variables are named)."""
        if self.category == "AUTHENTICATION":
            return {"components": _authentication_components()}
        components, named = [], any(not v.isdigit() for v in body_variables(self.body))
        if self.header_format in MEDIA_HEADERS:
            example = {"header_handle": [self.header_handle]}
            components.append({"type": "HEADER", "format": self.header_format, "example": example})
        elif self.header_format == "LOCATION":
            components.append({"type": "HEADER", "format": "LOCATION"})
        elif self.header:
            header_examples = [self.header_example] if self.header_example else []
            components.append(_text_component("HEADER", self.header, header_examples))
        components.append(_text_component("BODY", self.body, self.body_examples))
        if self.footer:
            components.append({"type": "FOOTER", "text": self.footer})
        buttons = [{"type": "QUICK_REPLY", "text": reply} for reply in self.quick_replies]
        if self.url:
            button = {"type": "URL", "text": self.url_text, "url": self.url}
            if "{{" in self.url:
                button["example"] = [self.url_example]
            buttons.append(button)
        if self.phone_number:
            number = "+" + self.phone_number.replace(" ", "").lstrip("+")
            buttons.append({"type": "PHONE_NUMBER", "text": self.phone_text, "phone_number": number})
        if buttons:
            components.append({"type": "BUTTONS", "buttons": buttons})
        return {"components": components, **({"parameter_format": "NAMED"} if named else {})}

    @classmethod
    def from_template(cls, template):
        """The draft an existing template's components describe, to edit it."""
        draft = cls(name=template.name, language=template.language, category=template.category)
        for component in template.components or []:
            kind, example = str(component.get("type", "")).upper(), component.get("example") or {}
            if kind == "HEADER" and str(component.get("format", "TEXT")).upper() != "TEXT":
                draft.header_format = str(component["format"]).upper()
                draft.header_handle = (example.get("header_handle") or [""])[0]
            elif kind == "HEADER":
                draft.header = component.get("text", "")
                named = example.get("header_text_named_params") or []
                draft.header_example = named[0]["example"] if named else (example.get("header_text") or [""])[0]
            elif kind == "BODY":
                draft.body = component.get("text", "")
                named = example.get("body_text_named_params") or []
                draft.body_examples = [p.get("example", "") for p in named] or list(
                    (example.get("body_text") or [[]])[0]
                )
            elif kind == "FOOTER":
                draft.footer = component.get("text", "")
            elif kind == "BUTTONS":
                draft._read_buttons(component.get("buttons") or [])
        return draft

    def _read_buttons(self, buttons):
        for button in buttons:
            kind = str(button.get("type", "")).upper()
            if kind == "QUICK_REPLY":
                self.quick_replies.append(button.get("text", ""))
            elif kind == "URL":
                self.url_text, self.url = button.get("text", ""), button.get("url", "")
                self.url_example = (button.get("example") or [""])[0]
            elif kind == "PHONE_NUMBER":
                self.phone_text, self.phone_number = button.get("text", ""), button.get("phone_number", "")


def body_variables(text):
    """The variables of a text, in order, each once."""
    found = []
    for name in TEMPLATE_VARIABLE.findall(text or ""):
        if name not in found:
            found.append(name)
    return found


def _mixed(variables):
    return len({name.isdigit() for name in variables}) > 1


def _text_component(kind, text, examples):
    component = {"type": kind, "text": text}
    if kind == "HEADER":
        component["format"] = "TEXT"
    variables = body_variables(text)
    if not variables:
        return component
    key = "header_text" if kind == "HEADER" else "body_text"
    if all(name.isdigit() for name in variables):
        component["example"] = {key: list(examples) if kind == "HEADER" else [list(examples)]}
    else:
        component["example"] = {
            f"{key}_named_params": [{"param_name": name, "example": ex} for name, ex in zip(variables, examples)]
        }
    return component


def _authentication_components():
    """Meta's one-time-code template: its own text, a security note, an expiry, a copy button."""
    return [
        {"type": "BODY", "add_security_recommendation": True},
        {"type": "FOOTER", "code_expiration_minutes": 10},
        {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code"}]},
    ]


def _raise_if(errors):
    if errors:
        raise DraftError(errors)
