"""Leftover throttle numbers kept for import compatibility.

The effective limit is the ``register`` entry of ``DEFAULT_RATE_LIMITS``.
"""

REGISTER_MAX_ATTEMPTS = 5
REGISTER_WINDOW_SECONDS = 3600

ACCOUNT_EXISTS = "Account already exists"
SIGNUP_ACCEPTED = "If the email is available, check your inbox to finish signing up."
