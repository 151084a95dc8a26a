"""One repository per domain; every query Durapay runs lives in one of these modules.

Writes that may be repeated (a retried activity, a redelivered webhook, two racing requests) are
idempotent by key, never by luck."""
