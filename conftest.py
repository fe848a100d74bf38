"""Fixtures every test level shares come from the `crm_testkit` pytest plugin:
`infra` (where the real RabbitMQ and Postgres are) and `eventually`."""
