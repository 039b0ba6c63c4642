from django import forms
from django.contrib import admin

from inbox.crypto import mask
from whatsapp.models import (
    Connection,
    Contact,
    Conversation,
    MediaFile,
    Message,
    PhoneNumber,
    WebhookEvent,
    WebhookReject,
)
from whatsapp.team import actions as team_actions

SECRET_FIELDS = ("app_secret", "verify_token", "access_token")


class ConnectionForm(forms.ModelForm):
    """Secrets are write-only: the form shows their last characters, and a blank field
    keeps the stored value. Saving goes through team.actions.save_connection, which writes
    the audit log. Set `request` on the form (or its class) to record who did it."""

    request = None

    class Meta:
        model = Connection
        fields = ["waba_id", "app_id", *SECRET_FIELDS]
        widgets = {name: forms.PasswordInput(render_value=False) for name in SECRET_FIELDS}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in SECRET_FIELDS:
            stored = getattr(self.instance, name, "") if self.instance.pk else ""
            self.fields[name].required = not stored
            if stored:
                self.fields[name].help_text = f"Stored: {mask(stored)}. Leave blank to keep it."

    def save(self, commit=True):
        connection = super().save(commit=False)
        return team_actions.save_connection(connection, request=self.request) if commit else connection

    def clean(self):
        cleaned = super().clean()
        for name in SECRET_FIELDS:
            if not cleaned.get(name) and self.instance.pk:
                cleaned[name] = getattr(Connection.objects.get(pk=self.instance.pk), name)
        return cleaned


class ConnectionInline(admin.StackedInline):
    model = Connection
    form = ConnectionForm
    can_delete = False

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = type("AuditedConnectionForm", (formset.form,), {"request": request})
        return formset


class PhoneNumberInline(admin.TabularInline):
    model = PhoneNumber
    extra = 0
    fields = ["phone_number_id", "display_phone_number", "verified_name", "quality_rating", "messaging_limit"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["display_name", "wa_id", "user_id", "tenant", "blocked", "created_at"]
    list_filter = ["tenant", "blocked"]
    search_fields = ["wa_id", "user_id", "name", "profile_name"]


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["contact", "phone_number", "tenant", "status", "assignee", "last_activity_at", "unread_count"]
    list_filter = ["tenant", "status"]
    raw_id_fields = ["contact", "phone_number", "assignee"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["pk", "tenant", "direction", "type", "status", "wamid", "timestamp"]
    list_filter = ["tenant", "direction", "status", "type"]
    search_fields = ["wamid", "text"]
    raw_id_fields = ["conversation", "author"]


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ["pk", "tenant", "received_at", "fields", "signature", "state", "deliveries"]
    list_filter = ["tenant", "state", "signature"]
    readonly_fields = [f.name for f in WebhookEvent._meta.fields]


@admin.register(WebhookReject)
class WebhookRejectAdmin(admin.ModelAdmin):
    list_display = ["pk", "tenant", "minute", "missing", "invalid", "sample_size"]
    list_filter = ["tenant"]
    readonly_fields = [f.name for f in WebhookReject._meta.fields]


@admin.register(MediaFile)
class MediaFileAdmin(admin.ModelAdmin):
    """Read-only: files change through their download and sending jobs, never by hand."""

    list_display = ["pk", "tenant", "state", "mime_type", "size", "filename", "attempts", "created_at"]
    list_filter = ["tenant", "state"]
    search_fields = ["meta_media_id", "sha256", "filename"]
    readonly_fields = [f.name for f in MediaFile._meta.fields]

    def has_add_permission(self, request):
        return False
