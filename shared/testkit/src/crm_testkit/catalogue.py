"""Product groups for tests that make products: sales files a product only under a
group of its managed list (`/api/product-groups`), so a test names the group first."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

import httpx

from . import polling


async def product_group(
    http: httpx.AsyncClient, code: str, *, headers: Mapping[str, str] | None = None, name: str | None = None
) -> str:
    """`code`, on the list (made now, or already there); `http` is sales' or the
    gateway's client, `headers` a sales manager's or an admin's."""
    made = await http.post(
        "/api/product-groups", json={"code": code, "name": name or code}, headers=dict(headers or {})
    )
    if made.status_code == 409 and made.json().get("params", {}).get("existing") == code:
        return code
    assert made.status_code == 201, made.text
    return code


def _group_unknown(response: httpx.Response) -> bool:
    if response.status_code != 422:
        return False
    detail = response.json().get("detail")
    return isinstance(detail, list) and any(item.get("type") == "product_group.unknown" for item in detail)


async def once_known(
    send: Callable[[], Awaitable[httpx.Response]], *, timeout: float = polling.DEADLINE_S
) -> httpx.Response:
    """The answer of `send` once marketing knows the group it names: a group made in
    sales a moment ago reaches marketing with `ProductGroupChanged`, so a volume or a
    target for it is refused as `product_group.unknown` until the event is consumed."""
    return await polling.eventually(
        send, lambda r: not _group_unknown(r), timeout=timeout, every=0.1, what="marketing knows the group"
    )
