"""Routes of the web app, one module per area; each route asks the services' public APIs for what
its page shows (one round trip per service) and renders it. Errors of those APIs become pages in
the visitor's language (``app.py``); a 422 shows beside its field (``common.submit``)."""

from fastapi import APIRouter

from services.web.api import account, deals, inbox, matches, organiser, participant, sessions

router = APIRouter(include_in_schema=False)
for area in (account, participant, matches, sessions, inbox, organiser, deals):
    router.include_router(area.router)
