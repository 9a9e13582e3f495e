"""``hardtech``: install, start, stop and inspect the local stack. The Makefile only calls this."""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

# The CLI runs the local development stack: public development secrets are allowed there unless
# the caller chose otherwise (services started by `hardtech up` inherit this environment).
os.environ.setdefault("HARDTECH_ENVIRONMENT", "local")
# The local broker requires SASL; the CLI is the operators' principal there (shared.settings).
if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
    os.environ.setdefault("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")

from hardtech import stack  # noqa: E402
from hardtech.errors import SetupError  # noqa: E402
from hardtech.lag import lag  # noqa: E402
from shared.auth import new_key_pair, new_secret  # noqa: E402

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Hard-Tech Express: technology-transfer matchmaking on Apache Kafka.")
console = Console(stderr=True)


def one_line_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Print a SetupError (or an OS error such as a full disk) as one line and exit 1, never a stack trace."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (SetupError, OSError) as exc:
            console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            console.print("interrupted")
            raise typer.Exit(130) from None

    return wrapper


def report(message: str) -> None:
    console.print(f"  [green]✓[/green] {message}", highlight=False)


@app.command()
@one_line_errors
def install() -> None:
    """Install what is missing: Kafka's jars (Maven) and FerretDB (Go). Idempotent."""
    with console.status("installing Kafka jars and FerretDB (first time: a few minutes)…"):
        stack.install(report)


@app.command()
@one_line_errors
def up(infra_only: Annotated[bool, typer.Option("--infra-only", help="Kafka and FerretDB only")] = False) -> None:
    """Install what is missing, start Kafka, FerretDB and every service, wait until all are healthy."""
    started = time.monotonic()
    with console.status("installing what is missing…"):
        stack.install(report)
    with console.status("starting Kafka and FerretDB…"):
        stack.start_infrastructure(report)
    if not infra_only:
        with console.status("starting the services…"):
            stack.start_sink(report)
            stack.start_services(report)
    console.print(f"up in {time.monotonic() - started:.1f}s", highlight=False)


@app.command()
def secrets() -> None:
    """Print fresh secrets for a deployment, as lines of a `.env` file (docker-compose reads it).
    The private key belongs to the listing service alone; the others need the public key. Each
    Kafka principal's password goes to its own process only (as its KAFKA_SASL_PASSWORD)."""
    from hardtech.kafka_access import password_variable
    from shared.kafka_principals import SERVICES
    from shared.settings import KAFKA_ADMIN_PRINCIPAL

    private, public = new_key_pair()
    print("HARDTECH_ENVIRONMENT=production")
    print(f"HARDTECH_OPERATOR_TOKEN={new_secret()}")
    print(f"HARDTECH_API_KEY_PEPPER={new_secret()}")
    print("HARDTECH_JWT_PRIVATE_KEY=" + private.strip().replace("\n", "\\n"))
    print("HARDTECH_JWT_PUBLIC_KEY=" + public.strip().replace("\n", "\\n"))
    print("KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT")
    for principal in (KAFKA_ADMIN_PRINCIPAL, *SERVICES):
        print(f"{password_variable(principal)}={new_secret()}")


@app.command()
@one_line_errors
def down() -> None:
    """Stop the services, FerretDB and Kafka (by their pid files), cleanly."""
    stack.stop_all(report)


@app.command()
@one_line_errors
def status() -> None:
    """Show what runs and whether it is healthy."""
    table = Table("component", "state", "address")
    for name, state, address in stack.status():
        colour = "green" if state.startswith("healthy") or state == "external" else "yellow"
        table.add_row(name, f"[{colour}]{state}[/{colour}]", address)
    Console().print(table)


@app.command()
@one_line_errors
def demo() -> None:
    """Bring the stack up, load the demo data set, wait for matches and agendas, print the report."""
    import asyncio

    from hardtech.demo.report import print_report
    from hardtech.demo.run import run
    from hardtech.demo.signins import KEYS, SignIn, sign_ins

    started = time.monotonic()
    up(infra_only=False)
    out = Console()

    async def main() -> list[SignIn]:
        demo = await run(console)
        try:
            await print_report(demo, out)
        finally:
            await demo.close()
        return sign_ins(demo.data, demo.loaded.api_keys)

    people = asyncio.run(main())
    out.print(f"\n[bold]Demo done in {time.monotonic() - started:.0f}s.[/bold] "
              "The stack stays up; `make down` stops it.")
    out.print("APIs (OpenAPI docs at /docs):")
    for service in stack.SERVICES:
        out.print(f"  {service.name:16} {service.url}/docs")
    monitor, web = stack.service("monitor"), stack.service("web")
    out.print(f"  dashboard        {monitor.url}/dashboard (it asks for the operator token)")
    out.print(f"\n[bold]The web app / 网页应用: {web.url}[/bold] — open {web.url}/signin and paste an API key "
              f"(every demo participant's key is in {KEYS}, readable by you only):")
    for person in people:
        out.print(f"  {person.role}: {person.organisation}\n    {person.api_key}", soft_wrap=True)


@app.command()
@one_line_errors
def topics() -> None:
    """Create the registry's topics that do not exist yet (for a cluster given by KAFKA_BOOTSTRAP_SERVERS)
    and, where the cluster requires SASL, the services' principals and their ACLs."""
    import asyncio

    from hardtech import kafka_access
    from shared import topics as registry
    from shared.kafka import ensure_topics
    from shared.settings import CommonSettings

    settings = CommonSettings()
    created = asyncio.run(ensure_topics(settings, registry.ALL))
    console.print(f"topics: {len(created)} created, {len(registry.ALL) - len(created)} already there")
    if settings.kafka_sasl:
        console.print(f"Kafka principals of the services: {kafka_access.provision_services(settings)} ACLs")


@app.command()
def ready(url: str) -> None:
    """Exit 0 when URL answers 200 (a container healthcheck)."""
    import httpx

    try:
        ok = httpx.get(url, timeout=3).status_code == 200
    except httpx.HTTPError:
        ok = False
    raise typer.Exit(0 if ok else 1)


@app.command()
@one_line_errors
def asyncapi(
    output: Annotated[Path, typer.Option(help="Where to write the AsyncAPI 3 document")] = Path("docs/asyncapi.yaml"),
) -> None:
    """Write the AsyncAPI 3 document generated from the event models in shared/."""
    from shared.asyncapi import render

    output.write_text(render())
    console.print(f"wrote {output}")


app.command()(one_line_errors(lag))

subscriber = typer.Typer(no_args_is_help=True, help="Subscribers' Kafka principals: read access to public topics.")
app.add_typer(subscriber, name="subscriber")


@subscriber.command("add")
@one_line_errors
def subscriber_add(
    name: Annotated[str, typer.Argument(help="the subscriber's principal, e.g. acme-stats")],
    topics: Annotated[str, typer.Option("--topics", help="comma-separated public topics, e.g. matches,agendas")],
) -> None:
    """Create a subscriber's principal (SCRAM-SHA-512) that may read the chosen public topics and use
    consumer groups named `NAME.…`; print its connection settings and password (shown once)."""
    from hardtech import kafka_access
    from shared.kafka_principals import subscriber_grants, subscriber_group_prefix
    from shared.settings import CommonSettings

    settings = CommonSettings()
    try:
        grants = subscriber_grants(name, [t.strip() for t in topics.split(",") if t.strip()], settings.topic_prefix)
    except ValueError as exc:
        raise SetupError(str(exc)) from None
    admin = kafka_access.admin_client(settings)
    if kafka_access.principal_exists(admin, name):
        raise SetupError(f"the principal {name} exists already; `hardtech subscriber revoke {name}` first")
    password = new_secret()
    kafka_access.set_password(admin, name, password)
    kafka_access.grant(admin, grants)
    readable = ", ".join(g.name for g in grants if g.resource == "topic")
    console.print(f"subscriber {name}: may read {readable}; consumer groups {subscriber_group_prefix(name)}…; "
                  "the password is shown this once", highlight=False, soft_wrap=True)
    print(f"KAFKA_BOOTSTRAP_SERVERS={settings.kafka_bootstrap_servers}")
    print(f"KAFKA_SECURITY_PROTOCOL={settings.kafka_security_protocol}")
    print(f"KAFKA_SASL_MECHANISM={settings.kafka_sasl_mechanism}")
    print(f"KAFKA_SASL_USERNAME={name}")
    print(f"KAFKA_SASL_PASSWORD={password}")


@subscriber.command("revoke")
@one_line_errors
def subscriber_revoke(name: Annotated[str, typer.Argument(help="the subscriber's principal")]) -> None:
    """Delete a subscriber's ACLs and replace its credential by one nobody holds: it can no longer connect."""
    from hardtech import kafka_access
    from shared.kafka_principals import check_subscriber_name
    from shared.settings import CommonSettings

    try:
        check_subscriber_name(name)
    except ValueError as exc:
        raise SetupError(str(exc)) from None
    admin = kafka_access.admin_client(CommonSettings())
    if not kafka_access.principal_exists(admin, name):
        raise SetupError(f"no subscriber {name} on this cluster")
    kafka_access.revoke(admin, name)
    console.print(f"subscriber {name}: revoked", highlight=False)


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())
