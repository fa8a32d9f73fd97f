"""Names, wordings and defaults of the recovery flows."""

from __future__ import annotations

from typing import Literal

from crudauth.constants import (
    DEFAULT_CHANGE_TTL_HOURS,
    DEFAULT_RESET_TTL_HOURS,
    DEFAULT_VERIFY_TTL_HOURS,
)

__all__ = [
    "CHANGE",
    "CHANGE_ACTION",
    "DEFAULT_CHANGE_PATH",
    "DEFAULT_CHANGE_TTL_HOURS",
    "DEFAULT_RESET_PATH",
    "DEFAULT_RESET_TTL_HOURS",
    "DEFAULT_VERIFY_PATH",
    "DEFAULT_VERIFY_TTL_HOURS",
    "EMAIL_KINDS",
    "EXISTING_ACCOUNT_ACTION",
    "NEW_EMAIL_CLAIM",
    "REDIRECT_CLAIM",
    "RESET",
    "RESET_ACTION",
    "STATE_CLAIM",
    "STATE_DIGEST_CHARS",
    "SUBJECT_CHANGE",
    "SUBJECT_EMAIL_CHANGED",
    "SUBJECT_EXISTING_ACCOUNT",
    "SUBJECT_RESET",
    "SUBJECT_VERIFY",
    "VERIFY",
    "VERIFY_ACTION",
    "EmailKind",
]

# Token purposes: a token minted for one flow is never accepted by another.
VERIFY = "verify_email"
RESET = "reset_password"
CHANGE = "change_email"

STATE_CLAIM = "state"
STATE_DIGEST_CHARS = 32
REDIRECT_CLAIM = "redirect_to"
NEW_EMAIL_CLAIM = "new_email"
TOKEN_ID_CLAIM = "jti"
TOKEN_ID_BYTES = 12

EmailKind = Literal[
    "verify_email",
    "verify_recovery",
    "reset_password",
    "change_email",
    "welcome",
    "existing_account",
    "email_changed",
]
EMAIL_KINDS: tuple[EmailKind, ...] = (
    "verify_email",
    "verify_recovery",
    "reset_password",
    "change_email",
    "welcome",
    "existing_account",
    "email_changed",
)

VERIFY_ACTION = "email_verify_request"
RESET_ACTION = "password_reset_request"
CHANGE_ACTION = "email_change_request"
EXISTING_ACCOUNT_ACTION = "existing_account_notice"
# Per-target throttle keys live under this namespace: ``email:<action>:<target>``.
TARGET_THROTTLE_NAMESPACE = "email"

DEFAULT_VERIFY_PATH = "/verify-email"
DEFAULT_RESET_PATH = "/reset-password"
DEFAULT_CHANGE_PATH = "/confirm-email-change"

SUBJECT_VERIFY = "Verify your email"
SUBJECT_RESET = "Reset your password"
SUBJECT_CHANGE = "Confirm your new email"
SUBJECT_EXISTING_ACCOUNT = "You already have an account"
SUBJECT_EMAIL_CHANGED = "Your email address was changed"

# Client-facing details of the recovery routes.
VERIFY_REQUESTED = "If an account exists, a verification {medium} has been sent."
RESET_REQUESTED = "If an account exists, a password reset {medium} has been sent."
CHANGE_REQUESTED = "If the address is available, a confirmation email has been sent."
VERIFIED = "Verified successfully."
PASSWORD_RESET = "Password reset successfully."
EMAIL_CHANGED = "Email changed successfully."
INVALID_OR_EXPIRED_TOKEN = "Invalid or expired token"
INVALID_TOKEN = "Invalid token"
TOKEN_ALREADY_USED = "Token already used"
EMAIL_IN_USE = "Email already in use"
INCORRECT_PASSWORD = "Incorrect password"
SAME_EMAIL = "New email matches current email"

# Longer strings are rejected before any JWT parsing; real tokens are a few hundred.
MAX_TOKEN_LENGTH = 4096
# A recovery value other than an email is a plain string; this bounds its size.
MAX_FACTOR_LENGTH = 320
