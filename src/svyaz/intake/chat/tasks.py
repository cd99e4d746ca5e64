"""Celery jobs of the chat: thin wrappers around services (registered through
svyaz.intake.tasks, which imports this module)."""

from __future__ import annotations

from celery import shared_task

from svyaz.intake.chat import services


@shared_task(name="svyaz.intake.chat.tasks.message_process")
def message_process(message_id: int) -> None:
    """Link one stored message to its client (lead or contact) and timeline (idempotent)."""
    services.message_process(message_id)


@shared_task(name="svyaz.intake.chat.tasks.message_deliver")
def message_deliver(message_id: int) -> bool:
    """Hand an operator's answer to the messenger's reply URL (the receiver de-duplicates)."""
    return services.message_deliver(message_id)


@shared_task(name="svyaz.intake.chat.tasks.messages_retry")
def messages_retry() -> int:
    """Periodically: process messages left without effect and deliver pending answers."""
    return services.messages_retry()
