import ipaddress

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LISTING_", env_file=".env", extra="ignore", populate_by_name=True)

    signs_tokens = True  # the identity service: it alone holds the signing key

    service_name: str = "listing"
    port: int = 8001
    database: str = "hardtech_listing"
    # POST /auth/token: attempts per client address and per API key prefix within the window.
    # Per address is higher, so that a demo or a gateway registering many participants is not stopped.
    auth_rate_per_ip: int = 120
    auth_rate_per_key: int = 10
    auth_rate_window_seconds: float = 60.0
    # POST /participants: sign-ups per client address and per e-mail address within the window.
    signup_rate_per_ip: int = 20
    signup_rate_per_email: int = 3
    signup_rate_window_seconds: float = 3600.0
    # Proxies whose X-Forwarded-For is believed (comma-separated addresses or CIDR networks).
    trusted_proxies: str = ""
    # After a rotation the previous API key keeps working this long, so clients can switch over.
    api_key_overlap_seconds: float = Field(600.0, ge=0, le=7 * 24 * 3600)
    expiry_interval_seconds: float = 30.0
    relay_poll_seconds: float = 1.0

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"LISTING_TRUSTED_PROXIES: {part!r} is not an address or network") from None
        return value

    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in self.trusted_proxies.split(",")
                     if p.strip())
