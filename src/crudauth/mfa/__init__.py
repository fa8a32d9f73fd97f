"""TOTP second factor: configuration, enrolment, recovery codes and two-step login.

``cryptography`` (the ``crudauth[mfa]`` extra) is needed only once a cipher is built.
"""

from crudauth.mfa.config import MfaConfig as MfaConfig
from crudauth.mfa.config import MfaRequirement as MfaRequirement
from crudauth.mfa.service import MfaService as MfaService

__all__ = ["MfaConfig", "MfaRequirement", "MfaService"]
