"""The embedded (single-process) channel layer.

In embedded mode the task worker runs in a thread of the web process. Channels'
in-memory layer keeps asyncio queues bound to the server's event loop, which are not
thread-safe, so sends made from any other loop are handed over to the server's loop.
"""

import asyncio

from channels.layers import InMemoryChannelLayer


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

    async def group_send(self, group, message):
        if self._on_foreign_loop():
            future = asyncio.run_coroutine_threadsafe(super().group_send(group, message), self._home_loop)
            return await asyncio.wrap_future(future)
        return await super().group_send(group, message)
