"""The wiring checks the dispatcher's settings before it opens any storage or queue. (That the
service modules import no storage is test_boundaries' check.)"""

from __future__ import annotations

import pytest

from secnotify.service.wiring import build_dispatcher
from secnotify.settings import ConfigurationError, Settings


def test_the_wiring_checks_the_dispatchers_queue_urls_before_it_opens_anything() -> None:
    # No storage, no endpoint: a dispatcher without its queues stops at the settings check.
    with pytest.raises(ConfigurationError, match="RETRY_QUEUE_URL is empty"):
        build_dispatcher(Settings(kms_key_id="k"))
