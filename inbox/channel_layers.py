"""The channel layers: the embedded (single-process) one, and production's on Redis.

In embedded mode the task worker runs in a thread of the web process. Channels'
in-memory layer keeps asyncio queues bound to the server's event loop, which are not
thread-safe, so sends made from any other loop are handed over to the server's loop.
"""

import asyncio
import logging

from channels.layers import InMemoryChannelLayer
from channels_redis import pubsub
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


class ThreadSafeInMemoryChannelLayer(InMemoryChannelLayer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._home_loop = None

    def _remember_loop(self):
        if self._home_loop is None:
            self._home_loop = asyncio.get_running_loop()

    def _on_foreign_loop(self):
        home = self._home_loop
        return home is not None and home.is_running() and home is not asyncio.get_running_loop()

    async def receive(self, channel):
        self._remember_loop()
        return await super().receive(channel)

    async def group_add(self, group, channel):
        self._remember_loop()
        return await super().group_add(group, channel)

    async def send(self, channel, message):
        if self._on_foreign_loop():
            future = asyncio.run_coroutine_threadsafe(super().send(channel, message), self._home_loop)
            return await asyncio.wrap_future(future)
        return await super().send(channel, message)

    async def groups_listened(self, groups):
        """The groups of `groups` that a socket has joined (see RedisPubSubChannelLayer's)."""
        return {group for group in groups if self.groups.get(group)}

    async def group_send(self, group, message):
        if self._on_foreign_loop():
            future = asyncio.run_coroutine_threadsafe(super().group_send(group, message), self._home_loop)
            return await asyncio.wrap_future(future)
        return await super().group_send(group, message)


class RedisPubSubChannelLayer(pubsub.RedisPubSubChannelLayer):
    """channels-redis' pub/sub layer (production), which tells this process's consumers when
    its connection to Redis breaks.

    Whatever was published while the connection was broken never reaches them, and once Redis
    is back the connection gives no sign of it: pages would stay open, live, and short of
    what they missed. Told, a consumer closes its socket as a server error, and the page
    reconnects once Redis answers and takes its lists again (static/js/inbox.js). The layer
    also logs a lost connection once, and its return, where theirs logs a traceback every
    second until Redis is back."""

    async def groups_listened(self, groups):
        """The groups of `groups` that some process's sockets have joined: a process with a
        socket in a group subscribes to its Redis channel, so Redis' PUBSUB NUMSUB counts them
        (one round trip per shard). A group nobody listens to need not be rendered for."""
        layer = self._get_layer()
        by_shard = {}
        for group in groups:
            channel = layer._get_group_channel_name(group)
            by_shard.setdefault(layer._get_shard(channel), {})[channel] = group
        listened = set()
        for shard, channels in by_shard.items():
            shard._ensure_redis()
            for channel, subscribers in await shard._redis.pubsub_numsub(*channels):
                name = channel.decode() if isinstance(channel, bytes) else channel
                if subscribers:
                    listened.add(channels[name])
        return listened

    def _get_layer(self):
        layer = super()._get_layer()  # one per event loop, made on first use
        if not getattr(layer, "tells_consumers", False):
            # Before any use: shards connect to Redis lazily, on the first subscribe or publish.
            layer._shards = [_TellingShard(shard.host, layer) for shard in layer._shards]
            layer.tells_consumers = True
        return layer


# The message a consumer gets when its process lost Redis; InboxConsumer.layer_lost closes it.
LAYER_LOST = {"type": "layer.lost"}


class _TellingShard(pubsub.RedisSingleShardConnection):
    lost = False  # the connection broke and Redis has not answered since

    async def _do_receiving(self):
        """Their receive loop, but a broken connection is logged once and told to consumers."""
        while True:
            try:
                if self._pubsub and self._pubsub.subscribed:
                    message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
                    await self._answered()
                    self._receive_message(message)
                else:
                    await asyncio.sleep(0.1)
            except (TimeoutError, asyncio.CancelledError, GeneratorExit):
                raise
            except Exception as error:
                self._broke(error)
                await asyncio.sleep(1)

    async def unsubscribe(self, channel):
        try:
            await super().unsubscribe(channel)
        except RedisError:
            if not self.lost:
                raise
            # Consumers closing because Redis is away: forget the channel here, and in Redis
            # once it answers again (_answered).
            self._subscribed_to.discard(channel)

    def _broke(self, error):
        if self.lost:
            return
        self.lost = True
        logger.warning("Lost Redis (%r): live pages reconnect, and catch up, once it answers again", error)
        lost = self.channel_layer.channel_layer.serialize(LAYER_LOST)
        for queue in self.channel_layer.channels.values():  # every consumer of this process
            queue.put_nowait(lost)

    async def _answered(self):
        if not self.lost:
            return
        self.lost = False
        logger.warning("Redis answers again")
        # redis-py subscribed again to every channel it knew of, those left during the outage too.
        left = [name for name in self._pubsub.channels if _text(name) not in self._subscribed_to]
        if left:
            await self._pubsub.unsubscribe(*left)


def _text(name):
    return name.decode() if isinstance(name, bytes) else name
