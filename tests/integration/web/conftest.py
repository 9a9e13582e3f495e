"""The notification service's fixtures, for the pages over it (test_page_reads.py)."""

from tests.integration.notification.conftest import notification_settings, producer  # noqa: F401
