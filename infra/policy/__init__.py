"""The platform's policy pack (pulumi-policy). Policies live in `policies`; `__main__`
only registers them, because a PolicyPack serves gRPC forever once constructed."""
