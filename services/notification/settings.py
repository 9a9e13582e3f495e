"""Settings of the notification service (env prefix ``NOTIFICATION_``)."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATION_", env_file=".env", extra="ignore",
                                      populate_by_name=True)

    service_name: str = "notification"
    port: int = 8004
    database: str = "hardtech_notification"

    # The web app's address as a recipient's browser reaches it: notices link to where they are acted on.
    web_url: str | None = "http://127.0.0.1:8006"

    # E-mail is off while no SMTP host is configured.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_sender: str = "Hard-Tech Express <noreply@hardtech.local>"
    smtp_timeout_seconds: float = 10.0

    # Where operators' alerts go; each is optional.
    operator_email: str | None = None
    operator_webhook_url: str | None = None
    operator_webhook_secret: SecretStr | None = None

    # Webhook URLs resolving to loopback, private or link-local addresses are refused unless true.
    allow_private_webhooks: bool = False
    webhook_timeout_seconds: float = 10.0
    # Exponential backoff with equal jitter, 10 s doubling up to 6 h: 20 attempts span at least
    # 26.7 hours (38 on average), as Standard Webhooks providers retry for a day and more. An
    # endpoint whose message failed them all is switched off and its owner told.
    webhook_max_attempts: int = Field(20, ge=1, le=30)
    webhook_backoff_base_seconds: float = Field(10.0, gt=0)
    webhook_backoff_max_seconds: float = Field(6 * 3600.0, gt=0)
    retry_after_max_seconds: float = Field(6 * 3600.0, gt=0)

    # Deliveries: how many run at once, and to one endpoint (a recipient's webhook URL, the SMTP
    # server); the longest the workers sleep between looks at their schedule; and how long a claimed
    # delivery stays claimed (longer than any one attempt).
    delivery_concurrency: int = Field(32, ge=1)
    endpoint_concurrency: int = Field(4, ge=1)
    delivery_poll_seconds: float = Field(1.0, gt=0)
    delivery_lease_seconds: float = Field(60.0, gt=0)

    digest_window_seconds: float = Field(3600.0, gt=0)
    # A digest is sent this long after its window closes, so late writes of the window still join it.
    digest_grace_seconds: float = Field(2.0, ge=0)

    # The live stream also polls the inbox this often, so notifications written by another
    # process reach it too.
    stream_poll_seconds: float = Field(2.0, gt=0)
    stream_ping_seconds: float = Field(15.0, gt=0)

    @property
    def email_enabled(self) -> bool:
        return bool(self.smtp_host)

    @model_validator(mode="after")
    def _operator_webhook_has_secret(self) -> Settings:
        if self.operator_webhook_url and not self.operator_webhook_secret:
            raise ValueError("operator_webhook_url needs operator_webhook_secret (whsec_...)")
        if self.webhook_timeout_seconds >= self.delivery_lease_seconds:
            raise ValueError("delivery_lease_seconds must exceed webhook_timeout_seconds")
        return self
