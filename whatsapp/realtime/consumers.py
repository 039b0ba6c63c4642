"""The browser's live connection: authenticate, join, forward. No writes here.

A socket keeps its access only while what it was let in with still holds
(realtime_access.py): it checks again whenever told that access may have changed, and at
least every REALTIME_ACCESS_RECHECK_SECONDS, and closes once the check fails.

A socket also closes, as a server error, when its process loses Redis (the channel layer
tells it, inbox/channel_layers.py), and is refused while Redis is away: events published
meanwhile never reach it, so the page reconnects once Redis answers and takes its lists again."""

import asyncio
import logging
import random
from contextlib import suppress

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from redis.exceptions import RedisError

from whatsapp.realtime import events as realtime
from whatsapp.realtime.access import access_still_valid, grant_access
from whatsapp.realtime.events import tenant_group, user_group

logger = logging.getLogger(__name__)

# Close codes the page understands: do not reconnect after these.
CLOSE_NOT_ALLOWED = 4403
# The page reconnects after this one, and connecting checks access afresh.
CLOSE_SERVER_ERROR = 1011


class InboxConsumer(AsyncJsonWebsocketConsumer):
    groups = []
    joined = ()
    rechecks = None
    access_ended = False

    async def __call__(self, scope, receive, send):
        # The timed re-check lives exactly as long as the connection, however that ends.
        try:
            await super().__call__(scope, receive, send)
        except RedisError as error:
            # Redis is away (the layer could not subscribe): end or refuse the connection.
            logger.debug("A live connection ended: the channel layer is unavailable (%r)", error)
            with suppress(Exception):
                await send({"type": "websocket.close", "code": CLOSE_SERVER_ERROR})
        finally:
            if self.rechecks is not None:
                self.rechecks.cancel()

    async def connect(self):
        slug = self.scope["url_route"]["kwargs"]["slug"]
        self.grant = await database_sync_to_async(grant_access)(self.scope.get("user"), slug, self.scope.get("session"))
        if self.grant is None:
            await self.close(code=CLOSE_NOT_ALLOWED)
            return
        self.tenant_id = self.grant.tenant_id
        self.joined = [tenant_group(self.grant.tenant_id), user_group(self.grant.user_id)]
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        self.rechecks = asyncio.create_task(self._recheck_periodically())

    async def disconnect(self, code):
        await self._leave_groups()

    async def receive_json(self, content, **kwargs):
        # Browsers write through ordinary POSTs. Over the socket: a ping that keeps proxies
        # from closing it, and "I am viewing conversation N", passed on and stored nowhere.
        if not isinstance(content, dict) or self.access_ended:
            return
        if content.get("type") == "ping":
            await self.send_json({"event": "pong"})
        elif content.get("type") == "viewing":
            conversation_id = content.get("conversation_id")
            if conversation_id is None or (isinstance(conversation_id, int) and conversation_id > 0):
                hello = content.get("hello") is True  # a newcomer: the others answer with where they are
                await realtime.presence(self.tenant_id, self.scope["user"], conversation_id, hello)

    async def inbox_event(self, message):
        """An event, its frame encoded once by the publisher (events.frame)."""
        if not self.access_ended:
            await self.send(text_data=message["frame"])

    async def inbox_events(self, message):
        """Many events published together (a batch of webhooks): one frame each, in order."""
        for frame in message["frames"]:
            if self.access_ended:
                return
            await self.send(text_data=frame)

    async def layer_lost(self, message):
        """This process lost Redis, and with it whatever was published meanwhile."""
        await self._leave_groups()
        await self.close(code=CLOSE_SERVER_ERROR)

    async def access_changed(self, message):
        """Something this socket's access rests on may have changed. The event says nothing
        more: the check reads the database."""
        await self._close_unless_allowed()

    async def _recheck_periodically(self):
        interval = settings.REALTIME_ACCESS_RECHECK_SECONDS
        # A random first wait spreads the checks of sockets that connected together (after a deploy).
        await asyncio.sleep(random.uniform(0, interval))
        while not self.access_ended:
            await self._close_unless_allowed()
            await asyncio.sleep(interval)

    async def _close_unless_allowed(self):
        """Close with 4403 once the grant no longer holds. A check that cannot run closes too,
        as a server error: access that cannot be confirmed is not kept."""
        if self.access_ended:
            return
        try:
            allowed, code = await database_sync_to_async(access_still_valid)(self.grant), CLOSE_NOT_ALLOWED
        except Exception:
            logger.exception("Could not check the access of a live connection")
            allowed, code = False, CLOSE_SERVER_ERROR
        if allowed or self.access_ended:
            return
        self.access_ended = True
        await self._leave_groups()
        await self.close(code=code)

    async def _leave_groups(self):
        joined, self.joined = self.joined, ()
        for group in joined:
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except RedisError:
                pass  # Redis is away: the layer forgets the subscription
