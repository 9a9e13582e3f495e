"""One way of sending a form to a service: the form's own errors stop it, a refusal comes back as
errors per form field, anything else goes on to the error pages."""

from __future__ import annotations

import pytest

from services.web.api.common import Refused, submit
from services.web.apis import ApiError
from services.web.domain import views

TOO_LONG = [{"loc": ["body", "title"], "msg": "too long", "type": "string_too_long"},
            {"loc": ["body", "trl"], "msg": "too big", "type": "less_than_equal"}]


async def test_a_form_with_errors_of_its_own_is_not_sent():
    sent = []

    async def call() -> str:
        sent.append(1)
        return "sent"

    assert await submit(call, {"trl": "Enter a number."}, "en") == Refused(422, {"trl": "Enter a number."})
    assert sent == []
    assert await submit(call, {}, "en") == "sent" and sent == [1]


async def test_a_refusal_comes_back_as_errors_beside_the_forms_fields():
    async def refuse() -> None:
        raise ApiError(422, TOO_LONG)

    outcome = await submit(refuse, {}, "zh-CN", to_form=views.item_errors)
    assert outcome == Refused(422, {"title_zh": "内容太长。", "trl": "超出允许的范围。"})


async def test_only_the_statuses_a_form_shows_are_kept():
    async def forbid() -> None:
        raise ApiError(403, "this party type may not post that kind")

    assert await submit(forbid, {}, "en", refused=(403, 422)) == Refused(403, {"": "this party type may not post that kind"})
    with pytest.raises(ApiError) as raised:
        await submit(forbid, {}, "en")
    assert raised.value.status == 403
