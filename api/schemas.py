"""What the API reads and answers, as typed schemas (they make the OpenAPI document)."""

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import ConfigDict, field_validator, model_validator

MessageType = Literal[
    "text", "image", "video", "audio", "document", "sticker", "template", "interactive", "location", "contacts",
    "reaction",
]  # fmt: skip


class Problem(Schema):
    type: str
    title: str
    status: int
    detail: str


class TextObject(Schema):
    body: str = Field(min_length=1, max_length=4096)
    preview_url: bool = False


class MediaObject(Schema):
    """A file by the id `POST /media` answered (or Meta gave), or by a public `link`."""

    model_config = ConfigDict(extra="forbid")
    id: str | None = Field(None, max_length=128)
    link: str | None = Field(None, max_length=2048, pattern=r"^https://")
    caption: str | None = Field(None, max_length=1024)
    filename: str | None = Field(None, max_length=240)

    @model_validator(mode="after")
    def one_source(self):
        if bool(self.id) == bool(self.link):
            raise ValueError("give either id or link")
        return self


class TemplateLanguage(Schema):
    code: str = Field(min_length=2, max_length=16)
    policy: str | None = None


class TemplateObject(Schema):
    """Meta's template object; components are passed to Meta as they are."""

    name: str = Field(min_length=1, max_length=512)
    language: TemplateLanguage
    components: list[dict[str, Any]] = Field(default_factory=list, max_length=20)


class LocationObject(Schema):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    name: str | None = Field(None, max_length=1000)
    address: str | None = Field(None, max_length=1000)


class ReactionObject(Schema):
    message_id: str = Field(min_length=1, max_length=255)
    emoji: str = Field(max_length=16)


class Context(Schema):
    message_id: str = Field(min_length=1, max_length=255)


class SendMessage(Schema):
    """Meta's `/messages` body, plus `from` (the sending number: its phone number id or its
    E.164 number; optional when the workspace has one) and `conversation_id` instead of `to`."""

    model_config = ConfigDict(populate_by_name=True)
    messaging_product: Literal["whatsapp"] = "whatsapp"
    recipient_type: Literal["individual"] = "individual"
    to: str | None = Field(
        None, max_length=32, description="The customer's number with its country code, E.164, '+' optional."
    )
    from_: str | None = Field(None, alias="from", max_length=32)
    conversation_id: int | None = Field(None, ge=1, lt=2**63)
    type: MessageType = "text"
    context: Context | None = None
    text: TextObject | None = None
    image: MediaObject | None = None
    video: MediaObject | None = None
    audio: MediaObject | None = None
    document: MediaObject | None = None
    sticker: MediaObject | None = None
    template: TemplateObject | None = None
    interactive: dict[str, Any] | None = None
    location: LocationObject | None = None
    contacts: list[dict[str, Any]] | None = Field(None, min_length=1, max_length=20)
    reaction: ReactionObject | None = None

    @model_validator(mode="after")
    def addressed_and_complete(self):
        if (self.to is None) == (self.conversation_id is None):
            raise ValueError("give either `to` or `conversation_id`")
        if getattr(self, self.type) is None:
            raise ValueError(f"a {self.type} message needs its `{self.type}` object")
        return self

    def payload(self):
        """The type's object, as Meta takes it."""
        value = getattr(self, self.type)
        if isinstance(value, list):
            return value
        return value if isinstance(value, dict) else value.model_dump(exclude_none=True)


class StatusOut(Schema):
    status: str
    timestamp: datetime
    error_code: int | None = None
    error_title: str = ""


class ErrorOut(Schema):
    code: int | None
    title: str
    detail: str


class MessageOut(Schema):
    id: int
    conversation_id: int
    direction: Literal["in", "out"]
    type: str
    status: str
    wamid: str | None
    text: str
    content: dict[str, Any]
    timestamp: datetime
    created_at: datetime
    error: ErrorOut | None = None
    statuses: list[StatusOut] | None = None
    media_file_id: int | None = Field(None, description="The stored file, for `GET /media/{id}`.")


class MessagePage(Schema):
    data: list[MessageOut]
    next_cursor: str | None


class ContactOut(Schema):
    id: int
    wa_id: str
    user_id: str
    name: str
    profile_name: str
    notes: str
    attributes: dict[str, str]
    blocked: bool
    marketing_opted_out: bool
    marketing_opted_out_at: datetime | None = None
    marketing_opt_out_source: str = Field("", description="How they stopped marketing messages.")
    marketing_opted_in_at: datetime | None = None
    marketing_opt_in_source: str = Field("", description="Where they agreed to marketing messages.")
    created_at: datetime
    updated_at: datetime


class ContactPage(Schema):
    data: list[ContactOut]
    next_cursor: str | None


class ContactCreate(Schema):
    wa_id: str = Field(max_length=32, description="The phone number, E.164 (+ and punctuation allowed).")
    name: str = Field("", max_length=200)
    notes: str = Field("", max_length=10_000)
    attributes: dict[str, str] = Field(default_factory=dict)


class ContactUpdate(Schema):
    name: str | None = Field(None, max_length=200)
    notes: str | None = Field(None, max_length=10_000)
    attributes: dict[str, str] | None = None
    blocked: bool | None = None


class ConsentChange(Schema):
    """Record the customer's marketing consent: `opt_in` with where they agreed (`source`:
    "signed up on the website", "in the shop"…), or `opt_out` (`source` optional)."""

    marketing: Literal["opt_in", "opt_out"]
    source: str = Field("", max_length=200)


class LabelOut(Schema):
    id: int
    name: str


class ConversationOut(Schema):
    id: int
    status: str
    contact: ContactOut
    phone_number_id: str
    assignee: str | None
    labels: list[LabelOut]
    unread_count: int
    last_activity_at: datetime
    last_message_preview: str
    window_closes_at: datetime | None
    snoozed_until: datetime | None


class ConversationPage(Schema):
    data: list[ConversationOut]
    next_cursor: str | None


Id = Annotated[int, Field(ge=1, le=2**63 - 1)]


class ConversationChange(Schema):
    status: Literal["open", "pending", "resolved", "snoozed"] | None = None
    snoozed_until: datetime | None = None
    assignee: str | None = Field(None, max_length=254, description="A member's email; empty for nobody.")
    add_labels: list[Id] = Field(default_factory=list, max_length=50)
    remove_labels: list[Id] = Field(default_factory=list, max_length=50)


class TemplateOut(Schema):
    id: int
    meta_id: str
    name: str
    language: str
    status: str
    category: str
    quality_score: str
    components: list[Any]
    reason: str = Field(description="Why Meta rejected or paused it (its reason code and words); empty otherwise.")


class NumberOut(Schema):
    phone_number_id: str
    display_phone_number: str
    verified_name: str
    quality_rating: str
    messaging_limit: str


def _upper(value):
    return value.upper() if isinstance(value, str) else value


class NamedExample(Schema):
    param_name: str = Field(max_length=100)
    example: str = Field(max_length=1024)


class TemplateExample(Schema):
    """Meta's examples for review: `body_text` ([[one per variable]]), `header_text`, the
    `*_named_params` of named variables, or a media header's `header_handle`."""

    header_text: list[Annotated[str, Field(max_length=1024)]] | None = Field(None, max_length=1)
    body_text: list[list[Annotated[str, Field(max_length=1024)]]] | None = Field(None, max_length=1)
    header_text_named_params: list[NamedExample] | None = Field(None, max_length=1)
    body_text_named_params: list[NamedExample] | None = Field(None, max_length=100)
    header_handle: list[Annotated[str, Field(max_length=2048)]] | None = Field(None, max_length=1)


class TemplateButton(Schema):
    type: Literal["QUICK_REPLY", "URL", "PHONE_NUMBER"]
    text: str = Field(max_length=200)
    url: str | None = Field(None, max_length=2000)
    phone_number: str | None = Field(None, max_length=32)
    example: list[Annotated[str, Field(max_length=2000)]] | None = Field(None, max_length=1)

    upper_type = field_validator("type", mode="before")(_upper)


class TemplateComponent(Schema):
    type: Literal["HEADER", "BODY", "FOOTER", "BUTTONS"]
    format: Literal["TEXT", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION"] | None = None
    text: str | None = Field(None, max_length=2000)
    example: TemplateExample | None = None
    buttons: list[TemplateButton] | None = Field(None, max_length=12)

    upper_type = field_validator("type", "format", mode="before")(_upper)


class TemplateCreate(Schema):
    """Meta's template creation body. The inbox creates what its template editor does: a
    header (text with at most one variable, an image, video or document by its example's
    `header_handle`, or a location), a body with an example per variable, a footer, and
    buttons (quick replies, one URL, one phone number). An AUTHENTICATION template is Meta's
    one-time-code text with a copy-code button; its components are not needed."""

    name: str = Field(min_length=1, max_length=512, description="Lowercase letters, digits and _.")
    language: str = Field(min_length=2, max_length=16, description="Meta's code, such as en_US.")
    category: Literal["MARKETING", "UTILITY", "AUTHENTICATION"]
    parameter_format: Literal["POSITIONAL", "NAMED"] | None = None
    components: list[TemplateComponent] = Field(default_factory=list, max_length=4)

    upper_category = field_validator("category", "parameter_format", mode="before")(_upper)

    @model_validator(mode="after")
    def one_of_each(self):
        kinds = [component.type for component in self.components]
        for kind in set(kinds):
            if kinds.count(kind) > 1:
                raise ValueError(f"at most one {kind} component")
        buttons = [button.type for component in self.components for button in component.buttons or []]
        for kind in ("URL", "PHONE_NUMBER"):
            if buttons.count(kind) > 1:
                raise ValueError(f"at most one {kind} button")
        return self


class AccountNumberOut(Schema):
    phone_number_id: str
    display_phone_number: str
    verified_name: str
    name_status: str
    quality_rating: str
    messaging_limit: str
    status: str
    platform_type: str
    needs_registration: bool = Field(description="Adding it registers it for the Cloud API: give its `pin`.")
    added: bool = Field(description="Whether the number is in this workspace.")


class NumberAdd(Schema):
    phone_number_id: str = Field(min_length=1, max_length=64, pattern=r"^[0-9]+$")
    pin: str = Field("", max_length=6, description="The two-step verification PIN, for a number not registered yet.")


class RemovalOut(Schema):
    conversations: int = Field(description="Conversations removed with the number.")
    messages: int = Field(description="Their messages, removed with them.")


class ProfileOut(Schema):
    about: str
    address: str
    description: str
    email: str
    websites: list[str]
    vertical: str
    profile_picture_url: str = ""


class ProfileChange(Schema):
    """The fields to change; the others stay as Meta has them. `""` clears a field."""

    about: str | None = Field(None, max_length=1000)
    address: str | None = Field(None, max_length=1000)
    description: str | None = Field(None, max_length=2000)
    email: str | None = Field(None, max_length=1000)
    websites: list[Annotated[str, Field(max_length=1000)]] | None = Field(None, max_length=10)
    vertical: str | None = Field(None, max_length=100)


class MediaOut(Schema):
    id: str
    mime_type: str


class ImportOut(Schema):
    id: int
    state: str
    rows: int
    processed: int
    created: int
    updated: int
    unchanged: int
    errors: list[Any]
    problem: str
