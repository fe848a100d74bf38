from __future__ import annotations


async def metric_total(base_url: str, name: str) -> float:
    """Sum of a Prometheus counter's samples on a service's /metrics."""
    import httpx

    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{base_url}/metrics")).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(f"{name}{{") or line.startswith(f"{name} ")
    )
