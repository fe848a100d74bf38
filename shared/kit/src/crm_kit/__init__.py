"""The platform kit: what every CRM service is built on.

- `settings.ServiceSettings`  configuration from the environment
- `db.Database`               async engine, `transaction()`
- `outbox.emit`               write an event in the caller's transaction
- `handlers.Handlers`         register event handlers (inbox, retry, dead-letter built in)
- `bus.EventBus`             RabbitMQ: topology, publishing, consuming, redelivery
- `auth.CurrentUser`          the verified caller
- `assembly.create_service_app` assemble a service process
- `errors.NotFound` ...     what a use case raises; answered as 4xx by one handler
- `spreadsheet.read`        the rows of an uploaded .csv or .xlsx file
"""
