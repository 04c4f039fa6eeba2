"""Outgoing messages to citizens: one persisted outbox, delivered once per message.

Every message the product sends outside a live chat reply (status updates, staff replies,
satisfaction requests, handoff notices) is a row of :class:`bot.outbox.models.OutboxMessage`
written in the same transaction as the change that caused it.
"""
