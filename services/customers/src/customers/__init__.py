"""The customers service: one audited record per customer, and its lifecycle."""
