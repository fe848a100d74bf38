"""What the CRM's tests share; a dev dependency only, never installed with a service.

- `infra.provide_infra`      the real RabbitMQ and Postgres (environment, else testcontainers)
- `polling.eventually`       poll until something happened, fail with the last answer
- `service.running_service`  one service in-process on its own database and bus namespace
- `plugin`                   the pytest fixtures `infra` and `eventually` (loaded by pytest)
"""
