"""Edge authentication, authorisation and abuse limits (docs/security.md, "Gateway").

- `api_keys`: `Authorization: Api-Key pk_<id>_<secret>`, salted hashes in SQLite;
- `oidc`: `Authorization: Bearer <jwt>` from an OIDC issuer, checked against its JWKS;
- `policy`: which routes need which caller, per `GATEWAY_AUTH_MODE`;
- `ratelimit`: token buckets per identity and per client IP;
- `guard`: applies all of the above to a request (`gateway.deps` runs it on each one).
"""
