-- Run once by the postgres image on an empty data volume (docker-compose.yml mounts it
-- into /docker-entrypoint-initdb.d). One database per service, owned by that service's
-- own role; no other role may connect to it, so no service reads another's database.
-- Development passwords equal the role names: change them (and the DATABASE_URLs in
-- docker-compose.yml) for anything but a local run. See deploy/README.md.

CREATE ROLE crm_gateway LOGIN PASSWORD 'crm_gateway';
CREATE DATABASE crm_gateway OWNER crm_gateway;
REVOKE ALL ON DATABASE crm_gateway FROM PUBLIC;

CREATE ROLE crm_leads LOGIN PASSWORD 'crm_leads';
CREATE DATABASE crm_leads OWNER crm_leads;
REVOKE ALL ON DATABASE crm_leads FROM PUBLIC;

CREATE ROLE crm_customers LOGIN PASSWORD 'crm_customers';
CREATE DATABASE crm_customers OWNER crm_customers;
REVOKE ALL ON DATABASE crm_customers FROM PUBLIC;

CREATE ROLE crm_sales LOGIN PASSWORD 'crm_sales';
CREATE DATABASE crm_sales OWNER crm_sales;
REVOKE ALL ON DATABASE crm_sales FROM PUBLIC;

CREATE ROLE crm_accounting LOGIN PASSWORD 'crm_accounting';
CREATE DATABASE crm_accounting OWNER crm_accounting;
REVOKE ALL ON DATABASE crm_accounting FROM PUBLIC;

CREATE ROLE crm_marketing LOGIN PASSWORD 'crm_marketing';
CREATE DATABASE crm_marketing OWNER crm_marketing;
REVOKE ALL ON DATABASE crm_marketing FROM PUBLIC;
