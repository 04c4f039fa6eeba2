"""Fixes to where Rasa 3.6's server spends its time, found by profiling (docs/performance.md).

:func:`install` applies them in the Rasa server process; ``python -m bot.dialogue.serve`` (the
launcher ``make run``, the tests and the Docker image use) calls it before Rasa's own CLI. Each
one keeps Rasa's behaviour and only removes repeated work:

1. **Action responses are validated per event type.** Rasa checks every action-server answer
   with ``jsonschema.validate`` against a schema whose event item is a ``oneOf`` of 23 event
   shapes: the schema itself is re-checked on every call and every event is tried against all
   23 shapes — about 90 ms of CPU for one answer of a form turn, half of the server's time per
   message. Every branch pins ``event`` to one constant, so an event matches the ``oneOf``
   exactly when it matches the branch of its own ``event`` value: the same verdict, from
   validators built once.
2. **Event classes are looked up once per type name.** ``Event.resolve_by_type`` walks all
   subclasses of ``Event`` (recursively, with an ``isabstract`` check each) for every event it
   deserialises — thousands per request when a tracker is loaded. The answer is cached.
3. **SQLite files opened in the Rasa process use WAL with ``synchronous=NORMAL``** (as the case
   store does, ``bot.cases.db``): the tracker store commits once per message, and in the default
   rollback journal each commit waits for two disk flushes while the server's event loop is
   blocked. In WAL mode a commit survives a crash of the process; only an OS crash or power
   loss may lose the last commits. PostgreSQL connections are not touched.
4. **A SQLite tracker store keeps its connection.** SQLAlchemy 1.4 opens and closes a new
   connection for every session on a SQLite file (``NullPool``); Rasa's store opens three per
   message, and closing the last connection of a WAL database checkpoints it each time. The
   store's engine gets one connection per thread instead (the server uses one thread).
5. **The event broker gets the new events without reloading the tracker.** Before each save,
   Rasa's SQL tracker store loads the stored tracker again (every event read, decrypted and
   deserialised) only to count its events and stream the rest to the event broker. The same
   count comes from one ``COUNT`` query — the one ``save`` itself uses — so the broker receives
   exactly the same events. Only done when an event broker is configured, as in Rasa.

6. **A response variation is picked with ``random.choice``.** Rasa draws it with
   ``numpy.random.choice``, which first turns the list of response dicts (with their button
   lists) into a numpy object array — tens to hundreds of microseconds per bot message instead
   of one. Same uniform choice among the same suitable variations.

7. **The prediction graphs run without dask.** Rasa runs each graph (NLU parse, policy
   prediction: several per message) through ``dask.get``, which rebuilds its task graph,
   orders it and wraps every call on each run — a fifth to a third of those graphs' time here.
   The same nodes are now called directly, each once, dependencies first, with the same
   inputs; the minimal sub-graph per set of targets is computed once.

8. **Action calls carry the conversation's recent detail and its older text only.** Rasa sends
   the whole tracker with every call to the action server — every event of the session as a
   dict, each user message with its full parse data (intent ranking, entities, FAQ ranking) —
   several times per message (the form's validation, the form, the final action). The call now
   carries every event from the second-to-last user message on exactly as Rasa would, and
   before it only what the actions read from older turns: each user message (text, time,
   channel, id) and bot message (text, time), and the markers that change which events count
   (restart, session start, undo, rewind). Slots, the latest message and the active loop are
   sent as before, except that parse data everywhere in the call leaves out the FAQ answer
   texts the response selector attached (~2 KB per message, a third of a call; Rasa's own
   ``utter_faq`` speaks them) and keeps the top three of its ranking: actions read only which
   topic it chose and how sure it was. An action that needs more of the old history must read
   the tracker store.

9. **The applied events of a tracker are worked out once per state of its events.** Rasa
   recomputes ``tracker.applied_events()`` (replaying every event of the session: restarts,
   undos, the form's repeated executions) many times per message — the session check, the
   rules, the form, the action calls — although the events did not change in between. The
   result is kept on the tracker with the events it came from (the same deque, the same length,
   the same last event); any new event means a fresh computation, and callers get a new list.

10. **Calls to the action server keep their connections** (``bot.dialogue.kept_connections``):
   Rasa opened a new TCP connection for every call; one connector per event loop now keeps
   idle connections for two seconds, and request bodies are encoded with ujson.

Rasa is pinned (``requirements.lock``); when an upgrade changes a patched function's shape,
:func:`install` logs that it skipped the fix instead of guessing.
"""
from __future__ import annotations

import logging
import random
import sqlite3
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

_installed: list[str] = []
_undo: dict[str, Callable[[], None]] = {}  # name -> restores what the fix replaced


def _replace(owner: Any, attr: str, new: Any, fix: str) -> None:
    """Put ``new`` in place of ``owner.attr`` (a class or module); :func:`uninstall` puts back
    what was there (taken from ``owner.__dict__``: a staticmethod stays one)."""
    original = vars(owner)[attr]
    setattr(owner, attr, new)
    _undo[fix] = lambda: setattr(owner, attr, original)


# --------------------------------------------------------------------------- 1. action responses


class ActionResultValidator:
    """Validates an action server's answer like Rasa's ``action_response_format_spec`` does."""

    def __init__(self, schema: dict[str, Any]) -> None:
        from jsonschema.validators import validator_for

        events = schema["properties"]["events"]
        item = events["items"]
        self._cls = validator_for(schema)
        branches = item["oneOf"]
        self._by_type: dict[str, Any] = {}
        for branch in branches:
            const = branch.get("properties", {}).get("event", {}).get("const")
            if not isinstance(const, str) or const in self._by_type:
                raise ValueError("an event branch without its own `event` constant")
            self._by_type[const] = self._cls(branch)
        common = {k: v for k, v in item.items() if k != "oneOf"}
        self._event = self._cls(common)
        rest = {**schema, "properties": {k: v for k, v in schema["properties"].items() if k != "events"}}
        self._top = self._cls(rest)
        self._events_array = self._cls({k: v for k, v in events.items() if k != "items"})

    def validate(self, result: Any) -> None:
        """Raise ``jsonschema.ValidationError`` when Rasa's own check would fail."""
        from jsonschema import ValidationError

        self._top.validate(result)
        if not isinstance(result, dict) or "events" not in result:
            return
        events = result["events"]
        self._events_array.validate(events)
        if not isinstance(events, list):
            return
        for event in events:
            self._event.validate(event)
            if not isinstance(event, dict):
                continue
            branch = self._by_type.get(event.get("event"))  # type: ignore[arg-type]
            if branch is None:
                raise ValidationError(f"{event.get('event')!r} is not a known event type")
            branch.validate(event)


def _patch_action_validation() -> str | None:
    from rasa.core.actions.action import RemoteAction

    original = RemoteAction.__dict__.get("_validate_action_result")
    if not callable(original):
        return "RemoteAction._validate_action_result not found"
    try:
        validator = ActionResultValidator(RemoteAction.action_response_format_spec())
    except (KeyError, TypeError, ValueError) as exc:
        return f"action response schema has an unexpected shape ({exc})"

    def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
        from jsonschema import ValidationError

        try:
            validator.validate(result)
        except ValidationError:
            # Rasa's own check raises the error with its message and help text.
            return bool(original(self, result))
        return True

    _replace(RemoteAction, "_validate_action_result", _validate_action_result, "action-result validation")
    return None


# --------------------------------------------------------------------------- 2. event classes


def _patch_event_lookup() -> str | None:
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    original = Event.__dict__.get("resolve_by_type")
    if not isinstance(original, staticmethod):
        return "Event.resolve_by_type is not a staticmethod"
    lookup: Callable[..., Any] = original.__func__
    cache: dict[str, type] = {}

    def resolve_by_type(type_name: str, default: type | None = None) -> type | None:
        found = cache.get(type_name)
        if found is not None:
            return found
        for cls in all_subclasses(Event):
            if cls.type_name == type_name:
                cache[type_name] = cls
                return cls
        return lookup(type_name, default)  # unknown names: Rasa's own answer or error

    _replace(Event, "resolve_by_type", staticmethod(resolve_by_type), "event class lookup")
    return None


# --------------------------------------------------------------------------- 3. SQLite journal


def _sqlite_wal(dbapi_connection: Any, _record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA database_list")
        files = [row[2] for row in cursor.fetchall() if row[1] == "main"]
        if files and files[0]:  # a file, not an in-memory database
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _patch_sqlite() -> str | None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not event.contains(Engine, "connect", _sqlite_wal):
        event.listen(Engine, "connect", _sqlite_wal)
    _undo["sqlite WAL"] = lambda: event.remove(Engine, "connect", _sqlite_wal)
    return None


# --------------------------------------------------------------------------- 4. SQLite pool


def _is_sqlite_file(url: Any) -> bool:
    from sqlalchemy.engine import make_url

    parsed = make_url(str(url)) if not hasattr(url, "get_backend_name") else url
    return bool(parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:")


def _patch_sqlite_pool() -> str | None:
    import rasa.core.tracker_store as tracker_store

    original = getattr(tracker_store, "create_engine_kwargs", None)
    if not callable(original) or getattr(original, "_bot_speedup", False):
        return None if original else "rasa.core.tracker_store.create_engine_kwargs not found"

    def create_engine_kwargs(url: Any) -> dict[str, Any]:
        from sqlalchemy.pool import SingletonThreadPool

        kwargs: dict[str, Any] = original(url)
        if _is_sqlite_file(url) and "poolclass" not in kwargs:
            kwargs["poolclass"] = SingletonThreadPool
        return kwargs

    create_engine_kwargs._bot_speedup = True  # type: ignore[attr-defined]
    _replace(tracker_store, "create_engine_kwargs", create_engine_kwargs, "sqlite tracker connection")
    return None


# --------------------------------------------------------------------------- 5. event broker


def _patch_stream_events() -> str | None:
    from rasa.core.tracker_store import SQLTrackerStore

    if not callable(getattr(SQLTrackerStore, "_additional_events", None)):
        return "SQLTrackerStore._additional_events not found"
    if not callable(getattr(SQLTrackerStore, "_stream_new_events", None)):
        return "SQLTrackerStore._stream_new_events not found"

    async def stream_events(self: Any, tracker: Any) -> None:
        """Streams the events the store does not hold yet to the event broker."""
        if self.event_broker is None:
            return
        with self.session_scope() as session:
            new_events = list(self._additional_events(session, tracker))
        await self._stream_new_events(self.event_broker, new_events, tracker.sender_id)

    original = SQLTrackerStore.__dict__.get("stream_events")
    SQLTrackerStore.stream_events = stream_events
    if original is None:
        _undo["event broker without reload"] = lambda: delattr(SQLTrackerStore, "stream_events")
    else:
        _undo["event broker without reload"] = lambda: setattr(SQLTrackerStore, "stream_events", original)
    return None


# --------------------------------------------------------------------------- 6. response choice


def _patch_response_choice() -> str | None:
    from rasa.core.nlg.generator import ResponseVariationFilter
    from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator

    original = TemplatedNaturalLanguageGenerator.__dict__.get("_random_response_for")
    if not callable(original):
        return "TemplatedNaturalLanguageGenerator._random_response_for not found"
    if not callable(getattr(ResponseVariationFilter, "responses_for_utter_action", None)):
        return "ResponseVariationFilter.responses_for_utter_action not found"

    def _random_response_for(
        self: Any, utter_action: str, output_channel: str, filled_slots: dict[str, Any]
    ) -> dict[str, Any] | None:
        if utter_action not in self.responses:
            return None
        suitable = ResponseVariationFilter(self.responses).responses_for_utter_action(
            utter_action, output_channel, filled_slots
        )
        if not suitable:
            return None
        chosen: dict[str, Any] = random.choice(suitable)
        return chosen

    _replace(TemplatedNaturalLanguageGenerator, "_random_response_for", _random_response_for, "response choice")
    return None


# --------------------------------------------------------------------------- 7. graph runner


def _patch_graph_runner() -> str | None:
    from rasa.engine.exceptions import GraphRunError
    from rasa.engine.runner.dask import DaskGraphRunner

    original = DaskGraphRunner.__dict__.get("run")
    helpers = ("_build_dask_graph", "_add_inputs_to_graph")
    if not callable(original) or not all(callable(getattr(DaskGraphRunner, n, None)) for n in helpers):
        return "DaskGraphRunner.run / _build_dask_graph / _add_inputs_to_graph not found"

    def run(self: Any, inputs: dict[str, Any] | None = None, targets: list[str] | None = None) -> dict[str, Any]:
        run_targets = list(targets) if targets else list(self._graph_schema.target_names)
        plans: dict[tuple[str, ...], dict[str, Any]] = self.__dict__.setdefault("_bot_plans", {})
        plan = plans.get(tuple(run_targets))
        if plan is None:
            plan = self._build_dask_graph(self._graph_schema.minimal_graph_schema(run_targets))
            plans[tuple(run_targets)] = plan
        graph = dict(plan)
        if inputs:
            self._add_inputs_to_graph(inputs, graph)  # same clash check as Rasa
        results: dict[str, Any] = {}

        def compute(name: str) -> Any:
            if name in results:
                return results[name]
            task = graph[name]
            if isinstance(task, tuple) and task and callable(task[0]):
                value = task[0](*(compute(dep) if dep in graph else dep for dep in task[1:]))
            else:
                value = task  # an input: (name, value), as dask passes it on
            results[name] = value
            return value

        try:
            return dict(compute(target) for target in run_targets)
        except RuntimeError as exc:
            raise GraphRunError("Error running runner.") from exc

    _replace(DaskGraphRunner, "run", run, "graph runner")
    return None


# --------------------------------------------------------------------------- 8. slim action calls

#: Older events the action server still receives (besides user and bot messages): they change
#: which events count (rasa_sdk's applied_events / events_after_latest_restart).
_MARKERS = frozenset({"restart", "session_started", "undo", "rewind"})


def slim_events(events: list[Any]) -> list[dict[str, Any]]:
    """The events of an action call: full from the second-to-last user message on (parse data as
    :func:`slim_parse` leaves it), text before."""
    from rasa.shared.core.events import BotUttered, UserUttered

    user_at = [i for i, event in enumerate(events) if isinstance(event, UserUttered)]
    cut = user_at[-2] if len(user_at) >= 2 else 0
    head: list[dict[str, Any]] = []
    for event in events[:cut]:
        if isinstance(event, UserUttered):
            head.append({
                "event": "user", "timestamp": event.timestamp, "text": event.text,
                "input_channel": event.input_channel, "message_id": event.message_id,
            })
        elif isinstance(event, BotUttered):
            head.append({"event": "bot", "timestamp": event.timestamp, "text": event.text})
        elif getattr(event, "type_name", None) in _MARKERS:
            head.append(event.as_dict())
    return head + [_slim_user(event.as_dict()) for event in events[cut:]]


#: FAQ topics of the response selector's ranking an action call keeps (actions read the choice)
SELECTOR_RANKING_KEPT = 3


def slim_parse(parse: Any) -> Any:
    """Parse data for an action call: the response selector without its answer texts (Rasa's
    own ``utter_faq`` says them; actions read only the chosen key and its confidence) and with
    the top of its ranking. A new dict — the tracker's own parse data is left as it is."""
    if not isinstance(parse, dict) or not isinstance(parse.get("response_selector"), dict):
        return parse
    selector: dict[str, Any] = {}
    for key, value in parse["response_selector"].items():
        if isinstance(value, dict):
            value = dict(value)
            response = value.get("response")
            if isinstance(response, dict) and "responses" in response:
                value["response"] = {k: v for k, v in response.items() if k != "responses"}
            if isinstance(value.get("ranking"), list):
                value["ranking"] = value["ranking"][:SELECTOR_RANKING_KEPT]
        selector[key] = value
    return {**parse, "response_selector": selector}


def _slim_user(event: dict[str, Any]) -> dict[str, Any]:
    """A serialised event, with :func:`slim_parse` applied when it is a user message."""
    if event.get("event") == "user" and "parse_data" in event:
        return {**event, "parse_data": slim_parse(event["parse_data"])}
    return event


def _slim_state(state: dict[str, Any]) -> dict[str, Any]:
    """``tracker.current_state()`` with :func:`slim_parse` applied to its latest message and the
    active loop's trigger message (the events are slimmed by :func:`slim_events`)."""
    state["latest_message"] = slim_parse(state.get("latest_message"))
    loop = state.get("active_loop")
    if isinstance(loop, dict) and "trigger_message" in loop:
        state["active_loop"] = {**loop, "trigger_message": slim_parse(loop["trigger_message"])}
    return state


def _patch_action_payload() -> str | None:
    import rasa
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.trackers import EventVerbosity

    original = RemoteAction.__dict__.get("_action_call_format")
    if not callable(original) or not callable(getattr(RemoteAction, "_is_selective_domain_enabled", None)):
        return "RemoteAction._action_call_format / _is_selective_domain_enabled not found"

    def _action_call_format(self: Any, tracker: Any, domain: Any) -> dict[str, Any]:
        tracker_state = _slim_state(tracker.current_state(EventVerbosity.NONE))  # all but the events
        tracker_state["events"] = slim_events(list(tracker.events))
        result = {
            "next_action": self._name,
            "sender_id": tracker.sender_id,
            "tracker": tracker_state,
            "version": rasa.__version__,
        }
        if not self._is_selective_domain_enabled() or domain.does_custom_action_explicitly_need_domain(self.name()):
            result["domain"] = domain.as_dict()
        return result

    _replace(RemoteAction, "_action_call_format", _action_call_format, "slim action calls")
    return None


# --------------------------------------------------------------------------- 9. applied events


def _patch_applied_events() -> str | None:
    from rasa.shared.core.trackers import DialogueStateTracker

    original = DialogueStateTracker.__dict__.get("applied_events")
    if not callable(original):
        return "DialogueStateTracker.applied_events not found"

    def applied_events(self: Any) -> list[Any]:
        events = self.events
        last = events[-1] if events else None
        memo = self.__dict__.get(_APPLIED_MEMO)
        if memo is not None and memo[0] is events and memo[1] == len(events) and memo[2] is last:
            return list(memo[3])
        result: list[Any] = original(self)
        self.__dict__[_APPLIED_MEMO] = (events, len(events), last, tuple(result))
        return result

    _replace(DialogueStateTracker, "applied_events", applied_events, "applied events")
    return None


#: tracker attribute holding (events deque, its length, its last event, the applied events)
_APPLIED_MEMO = "_bot_applied_events"


# --------------------------------------------------------------------------- 10. kept connections


def _patch_kept_connections() -> str | None:
    try:
        from bot.dialogue import kept_connections
    except ImportError as exc:  # e.g. a Rasa without DEFAULT_REQUEST_TIMEOUT
        return f"bot.dialogue.kept_connections: {exc}"
    return kept_connections.patch()


# --------------------------------------------------------------------------- install

FIXES: dict[str, Callable[[], str | None]] = {
    "action-result validation": _patch_action_validation,
    "event class lookup": _patch_event_lookup,
    "sqlite WAL": _patch_sqlite,
    "sqlite tracker connection": _patch_sqlite_pool,
    "event broker without reload": _patch_stream_events,
    "response choice": _patch_response_choice,
    "graph runner": _patch_graph_runner,
    "slim action calls": _patch_action_payload,
    "applied events": _patch_applied_events,
    "kept connections": _patch_kept_connections,
}


def install() -> list[str]:
    """Apply every fix once (idempotent); returns the names applied in this process."""
    for name, patch in FIXES.items():
        if name in _installed:
            continue
        problem = patch()
        if problem:
            log.warning("speed fix %r skipped: %s", name, problem)
        else:
            _installed.append(name)
    log.info("Rasa speed fixes: %s", ", ".join(_installed) or "none")
    return list(_installed)


def uninstall() -> None:
    """Put Rasa back as it was (for tests that must not leave the fixes in their process)."""
    while _installed:
        undo = _undo.pop(_installed.pop(), None)
        if undo is not None:
            undo()
