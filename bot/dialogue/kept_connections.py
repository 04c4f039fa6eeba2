"""Speed fix 10: Rasa's HTTP calls to its endpoints keep their connections (docs/performance.md).

Rasa's ``EndpointConfig.session()`` builds a new aiohttp session, with a connector of its own,
for every request: every call to the action server (two or three per message) opened a new TCP
connection and closed it again — a third of the call's time in the Rasa process, and as much
again in the action server accepting it. The session Rasa gets now shares one connector per
event loop, which keeps idle connections for :data:`KEEPALIVE_S` seconds: less than the
keep-alive of the servers it talks to (Sanic closes an idle connection after 5 s by default,
the action server of ``make run`` and ``docker/`` after 75 s), so a kept connection is never one
the server is closing. Request bodies are encoded with ujson (already one of Rasa's
requirements), falling back to the standard library for anything ujson refuses.

Nothing else changes: the same headers, authentication, timeout and error handling; the session
is closed when Rasa's ``async with`` ends, the shared connector is not.
"""
from __future__ import annotations

import asyncio
import json
import weakref
from typing import Any

import aiohttp
import ujson
from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT

#: seconds an idle kept connection stays open (below every server's keep-alive)
KEEPALIVE_S = 2.0

_connectors: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()


def dumps(value: Any) -> str:
    """JSON text of a request body: ujson when it can, else the standard library."""
    try:
        return str(ujson.dumps(value, ensure_ascii=False, escape_forward_slashes=False))
    except (TypeError, OverflowError, ValueError):
        return json.dumps(value)


def shared_connector(loop: asyncio.AbstractEventLoop) -> Any:
    """The kept connector of ``loop`` (a new one when it has none or it was closed)."""
    connector = _connectors.get(loop)
    if connector is None or connector.closed:
        # no cap on connections in flight, as before (Rasa's per-call connectors had none)
        connector = aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_S, limit=0)
        _connectors[loop] = connector
    return connector


async def close_connector() -> None:
    """Close and forget the running loop's kept connector, its idle connections with it (a loop
    about to end; the tests after each one)."""
    connector = _connectors.pop(asyncio.get_running_loop(), None)
    if connector is not None:
        await connector.close()


def endpoint_session(endpoint: Any) -> Any:
    """What ``EndpointConfig.session()`` returns with the fix: Rasa's session (same headers,
    authentication and timeout) on the running loop's kept connector. Rasa only asks for one
    inside its event loop (aiohttp needs one either way)."""
    auth = None
    if endpoint.basic_auth:
        auth = aiohttp.BasicAuth(endpoint.basic_auth["username"], endpoint.basic_auth["password"])
    return aiohttp.ClientSession(
        headers=endpoint.headers, auth=auth, timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
        connector=shared_connector(asyncio.get_running_loop()), connector_owner=False, json_serialize=dumps,
    )


def patch() -> str | None:
    """Install the fix into Rasa (``bot.dialogue.speedups`` registers it); None when done."""
    from rasa.utils import endpoints

    from bot.dialogue.speedups import _replace

    if not callable(vars(endpoints.EndpointConfig).get("session")):
        return "EndpointConfig.session not found"

    _replace(endpoints.EndpointConfig, "session", endpoint_session, "kept connections")
    return None
