"""What the API reads and answers, as typed schemas (they make the OpenAPI document)."""

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import ConfigDict, model_validator

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


class NumberOut(Schema):
    phone_number_id: str
    display_phone_number: str
    verified_name: str
    quality_rating: str
    messaging_limit: str


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
