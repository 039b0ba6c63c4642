"""The browser's live connection: authenticate, join, forward. No writes here."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts.two_factor import scope_is_verified
from tenants.models import Membership

from . import realtime
from .realtime import tenant_group, user_group

# Close codes the page understands: do not reconnect after these.
CLOSE_NOT_ALLOWED = 4403


class InboxConsumer(AsyncJsonWebsocketConsumer):
    groups = []

    async def connect(self):
        user = self.scope.get("user")
        slug = self.scope["url_route"]["kwargs"]["slug"]
        membership = await self._membership(user, slug, self.scope.get("session")) if user and user.is_authenticated else None
        if membership is None:
            await self.close(code=CLOSE_NOT_ALLOWED)
            return
        self.tenant_id = membership.tenant_id
        self.joined = [tenant_group(membership.tenant_id), user_group(user.pk)]
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        for group in getattr(self, "joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        # Browsers write through ordinary POSTs. Over the socket: a ping that keeps proxies
        # from closing it, and "I am viewing conversation N", passed on and stored nowhere.
        if not isinstance(content, dict):
            return
        if content.get("type") == "ping":
            await self.send_json({"event": "pong"})
        elif content.get("type") == "viewing":
            conversation_id = content.get("conversation_id")
            if conversation_id is None or (isinstance(conversation_id, int) and conversation_id > 0):
                hello = content.get("hello") is True  # a newcomer: the others answer with where they are
                await realtime.presence(self.tenant_id, self.scope["user"], conversation_id, hello)

    async def inbox_event(self, message):
        await self.send_json({"event": message["event"], "data": message["data"]})

    @database_sync_to_async
    def _membership(self, user, slug, session):
        """The member's membership, unless the tenant requires two factors and this session
        has not passed one (as for its pages)."""
        membership = Membership.objects.select_related("tenant").filter(
            user=user, tenant__slug=slug, tenant__active=True
        ).first()
        if membership and membership.tenant.require_2fa and not scope_is_verified(user, session):
            return None
        return membership
