"""HTTP routes of sales, one module per aggregate: parse, authorize, call the use case,
shape the response.

Who may do what:
- read quotes, orders and contracts: every role; a salesperson only their own (others' are 404);
- read products, product groups and price lists: every role;
- make and change quotes, opportunities, contracts: salesperson (their own), sales_manager, admin;
- approve or reject a quote, change products, product groups, price lists or approval rules, expire due
  quotes: sales_manager and admin;
- performance: sales_manager and admin everyone's, a salesperson their own rows.
A use case's `crm_kit.errors` become 404/409/422 (the kit's one handler); the
transaction was rolled back.
"""

from . import (
    approval,
    contracts,
    customers,
    opportunities,
    orders,
    performance,
    price_lists,
    product_groups,
    products,
    quotes,
)

#: In the order they are registered.
routers = [
    customers.router,
    product_groups.router,
    products.router,
    price_lists.router,
    opportunities.router,
    approval.router,
    quotes.router,
    orders.router,
    contracts.router,
    performance.router,
]
