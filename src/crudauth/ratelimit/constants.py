"""Key namespaces and defaults of the rate limiter and the login lockout."""

LOCKOUT_NAMESPACE = "login"
RATE_LIMIT_NAMESPACE = "ratelimit"
SUDO_NAMESPACE = "sudo"

# Attribute of ``request.state`` holding the limit headers recorded for a request.
RATE_LIMIT_HEADERS_STATE = "crudauth_rate_limit_headers"

REDIS_KEY_PREFIX = "crudauth:rl:"
MEMORY_SWEEP_EVERY_INCREMENTS = 256

RATE_LIMIT_EXCEEDED = "Too many requests. Try again later."
