from django.conf import settings
from django.db import models


class Tenant(models.Model):
    """A company using the inbox. Every tenant-owned row points here."""

    class ReadReceipts(models.TextChoices):
        ON_OPEN = "open", "When an agent opens the conversation"
        ON_REPLY = "reply", "Only when an agent replies"

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    active = models.BooleanField(default=True, help_text="Inactive tenants get no pages and no webhooks.")
    read_receipts = models.CharField(
        max_length=8, choices=ReadReceipts.choices, default=ReadReceipts.ON_OPEN,
        help_text="When customers see blue ticks on their messages.",
    )
    auto_assign = models.BooleanField(
        default=False, help_text="Give new conversations to available agents in turn (round robin)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    AGENT = "agent", "Agent"


# Each role can do everything the roles after it can.
ROLE_RANK = {Role.AGENT: 1, Role.ADMIN: 2, Role.OWNER: 3}


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.AGENT)
    available = models.BooleanField(default=True, help_text="Takes new conversations when auto-assignment is on.")
    last_assigned_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_user_per_tenant")]
        ordering = ["tenant__name", "user__email"]

    def __str__(self):
        return f"{self.user} in {self.tenant} ({self.role})"

    def has_role(self, role):
        return ROLE_RANK[self.role] >= ROLE_RANK[role]
