"""RabbitMQ policies for a service's queues: what may change from one run to the next.

A queue's `x-` arguments are fixed when it is first declared, and a later declaration
with other values is refused (PRECONDITION_FAILED): with the retry delay and the
delivery limit as arguments, a service restarted with another `RETRY_DELAY_S` or
`DELIVERY_LIMIT` could not start. So the kit declares its queues with nothing but
their type (`crm_kit.topology`), and dead-lettering, the retry queue's TTL and the
delivery limit are policies, which RabbitMQ applies to a queue that exists already,
at once, whenever they change. `for_settings(settings)` is the one place they are made:

- `make run` and the end-to-end tests: `deploy/local/stack.py` sets them from each
  service's settings before it starts it (`rabbitmqctl set_policy`);
- docker compose: `deploy/rabbitmq/definitions.json` ("policies");
- Kubernetes: the `Policy` objects of `deploy/k8s/components/service/rabbitmq.yaml`;
- the integration tests: `crm_testkit.infra.bus_policies`, scoped to the test's namespace.

tests/test_compose.py and tests/test_k8s.py check that the last two are `for_settings`
of each service's settings as deployed. A policy matches one queue by its exact name,
with priority `PRIORITY`; RabbitMQ applies only the highest-priority policy matching a
queue, so an operator's own policy for these queues must carry these keys too.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .settings import ServiceSettings
from .topology import Topology

PRIORITY = 10


@dataclass(frozen=True)
class Policy:
    name: str
    pattern: str
    definition: dict[str, Any]
    priority: int = PRIORITY
    apply_to: str = "queues"

    def as_definition(self, vhost: str = "/") -> dict[str, Any]:
        """As `rabbitmqctl export_definitions` writes it (definitions.json)."""
        return {
            "vhost": vhost,
            "name": self.name,
            "pattern": self.pattern,
            "apply-to": self.apply_to,
            "priority": self.priority,
            "definition": self.definition,
        }


def for_service(namespace: str, service: str, *, retry_delay_s: float, delivery_limit: int) -> list[Policy]:
    """The service's queue dead-letters to `<ns>.dlx` past `delivery_limit` redeliveries;
    its retry queue holds a message `retry_delay_s`, then dead-letters it back to the
    service's queue through the retry exchange (key `back`). Both dead-letter
    at-least-once, which needs `reject-publish` on overflow."""
    names = Topology(namespace, service)
    safely = {"dead-letter-strategy": "at-least-once", "overflow": "reject-publish"}
    return [
        Policy(
            names.queue,
            exact(names.queue),
            {
                "dead-letter-exchange": names.dead_letter_exchange,
                "dead-letter-routing-key": names.queue,
                **safely,
                "delivery-limit": delivery_limit,
            },
        ),
        Policy(
            names.retry_queue,
            exact(names.retry_queue),
            {
                "message-ttl": round(retry_delay_s * 1000),
                "dead-letter-exchange": names.retry_queue,
                "dead-letter-routing-key": "back",
                **safely,
            },
        ),
    ]


def for_settings(settings: ServiceSettings) -> list[Policy]:
    return for_service(
        settings.bus_namespace,
        settings.service_name,
        retry_delay_s=settings.retry_delay_s,
        delivery_limit=settings.delivery_limit,
    )


def exact(name: str) -> str:
    """A policy pattern matching the one queue `name`."""
    return f"^{re.escape(name)}$"


def set_with_rabbitmqctl(policies: Sequence[Policy], vhost: str = "/") -> None:
    """Set `policies` on the broker of this machine; raise if it refuses one."""
    _rabbitmqctl_each(
        policies,
        lambda p: [
            "set_policy",
            "-p",
            vhost,
            "--priority",
            str(p.priority),
            "--apply-to",
            p.apply_to,
            p.name,
            p.pattern,
            json.dumps(p.definition, separators=(",", ":")),
        ],
    )


def clear_with_rabbitmqctl(policies: Sequence[Policy], vhost: str = "/") -> None:
    _rabbitmqctl_each(policies, lambda p: ["clear_policy", "-p", vhost, p.name])


def _rabbitmqctl_each(policies: Sequence[Policy], command: Callable[[Policy], list[str]]) -> None:
    def run(policy: Policy) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["rabbitmqctl", *command(policy)], capture_output=True, text=True, timeout=60)

    with ThreadPoolExecutor(max_workers=max(1, min(8, len(policies)))) as pool:
        failed = [r for r in pool.map(run, policies) if r.returncode != 0]
    if failed:
        raise RuntimeError(f"rabbitmqctl {' '.join(failed[0].args[1:3])}: {failed[0].stderr.strip()[-300:]}")
