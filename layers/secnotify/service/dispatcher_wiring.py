"""Builds the dispatcher's object graph once per process (per warm Lambda), from settings.

Apart from ``wiring`` (the config API's graph) so the dispatcher's cold start never imports the
API's services, models and save-time checks.
"""

from __future__ import annotations

from functools import lru_cache

from secnotify.delivery import WebhookSender
from secnotify.service.clock import SYSTEM_CLOCK, Clock
from secnotify.service.config_cache import ConfigCache
from secnotify.service.dispatch import Dispatcher
from secnotify.service.findings import FindingLifecycle
from secnotify.service.notify import Notifier
from secnotify.service.ports.config import ConfigReader
from secnotify.service.ports.findings import FindingStateStore
from secnotify.service.ports.ledger import DeliveryLedger, DeliveryLog
from secnotify.service.ports.mail import MailSender
from secnotify.service.ports.queues import DispatchQueues
from secnotify.service.ports.receivers import ReceiverReferences
from secnotify.service.ports.secrets import SecretSealer
from secnotify.settings import Settings, get_settings
from secnotify.storage.dynamodb import open_storage
from secnotify.storage.mail import SesMailSender
from secnotify.storage.queues import Queues
from secnotify.storage.secrets import SecretBox


def build_dispatcher(
    settings: Settings,
    *,
    ledger: DeliveryLedger | None = None,
    deliveries: DeliveryLog | None = None,
    config: ConfigReader | None = None,
    secrets: SecretSealer | None = None,
    queues: DispatchQueues | None = None,
    sender: WebhookSender | None = None,
    findings: FindingStateStore | None = None,
    references: ReceiverReferences | None = None,
    clock: Clock = SYSTEM_CLOCK,
    mail: MailSender | None = None,
) -> Dispatcher:
    """The dispatcher's graph, for production, the benchmark and the fast tests alike.

    Production passes only ``settings``; a benchmark or a test passes the parts it brings, and
    DynamoDB is opened only when a part it holds is missing. The settings are checked first,
    so a dispatcher without its queues fails here, naming the variable. ``clock`` also drives
    the leases and the records' TTLs of the storage opened here.
    """
    settings = settings.for_dispatcher()
    if (
        ledger is None
        or deliveries is None
        or config is None
        or secrets is None
        or findings is None
        or references is None
    ):
        storage = open_storage(settings.table_name, clock=clock.wall)
        ledger = ledger or storage.ledger
        deliveries = deliveries or storage.deliveries
        config = config or storage.config
        findings = findings or storage.findings
        references = references or storage.references
        secrets = secrets or SecretBox(settings.table_name, settings.kms_key_id, dynamodb=storage.client)
    notifier = Notifier(
        deliveries,
        settings,
        sender=sender,
        clock=clock,
        references=references,
        mail=mail or mail_sender(settings),
    )
    return Dispatcher(
        ledger=ledger,
        queues=queues or Queues(settings.retry_queue_url, settings.dead_letter_queue_url),
        notifier=notifier,
        config=ConfigCache(
            config,
            secrets,
            settings.config_cache_ttl_s,
            settings.config_max_age_s,
            clock=clock.monotonic,
        ),
        settings=settings,
        lifecycle=FindingLifecycle(findings, clock, settings.source_baseline_hours),
        clock=clock,
    )


def mail_sender(settings: Settings) -> MailSender | None:
    """SES, when the stack names a sender identity; else no email goes out (EMAIL_OFF)."""
    return SesMailSender(settings) if settings.email_from is not None else None


@lru_cache(maxsize=1)
def dispatcher() -> Dispatcher:
    return build_dispatcher(get_settings())
