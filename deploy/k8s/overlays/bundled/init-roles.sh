#!/bin/sh
# Run once by the postgres image when its data volume is first initialised
# (/docker-entrypoint-initdb.d), as the bootstrap superuser, which nothing else uses:
#   DB_OWNER_USER (crs_owner) owns the database and its schema; migrations connect as it.
#   DB_APP_USER (crs_app), the API's and workers' role, may read and write rows: SELECT,
#   INSERT, UPDATE, DELETE on the tables and USAGE on the sequences the owner creates. It
#   cannot create, alter or drop tables, create roles or databases, or read other databases.
# Neither role is a superuser. No `exit` and no `set -u`: the entrypoint may source this file.
set -e
: "${POSTGRES_DB:?}" "${DB_OWNER_PASSWORD:?set DB_OWNER_PASSWORD}" "${DB_APP_PASSWORD:?set DB_APP_PASSWORD}"

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname "$POSTGRES_DB" \
    -v db="$POSTGRES_DB" \
    -v owner="${DB_OWNER_USER:-crs_owner}" -v owner_password="$DB_OWNER_PASSWORD" \
    -v app="${DB_APP_USER:-crs_app}" -v app_password="$DB_APP_PASSWORD" <<'SQL'
CREATE ROLE :"owner" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'owner_password';
CREATE ROLE :"app" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'app_password';

ALTER DATABASE :"db" OWNER TO :"owner";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db" TO :"app";

ALTER SCHEMA public OWNER TO :"owner";
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"app";

-- Tables and sequences the migrations create (as the owner) come with these rights for the app.
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO :"app";
SQL
