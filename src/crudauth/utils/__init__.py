"""Hashing, identifier, HTTP and callback helpers shared across crudauth."""

from crudauth.utils.callbacks import takes_two_arguments as takes_two_arguments
from crudauth.utils.hashing import LegacyVerifier as LegacyVerifier
from crudauth.utils.hashing import dummy_verify_password as dummy_verify_password
from crudauth.utils.hashing import get_password_hash as get_password_hash
from crudauth.utils.hashing import get_password_hash_async as get_password_hash_async
from crudauth.utils.hashing import is_unusable_password as is_unusable_password
from crudauth.utils.hashing import make_unusable_password as make_unusable_password
from crudauth.utils.hashing import normalize_password as normalize_password
from crudauth.utils.hashing import verify_and_update_password as verify_and_update_password
from crudauth.utils.hashing import (
    verify_and_update_password_async as verify_and_update_password_async,
)
from crudauth.utils.hashing import verify_legacy_password as verify_legacy_password
from crudauth.utils.hashing import verify_legacy_password_async as verify_legacy_password_async
from crudauth.utils.hashing import verify_password as verify_password
from crudauth.utils.hashing import verify_password_async as verify_password_async
from crudauth.utils.hashing import verify_plain_bcrypt as verify_plain_bcrypt
from crudauth.utils.http import client_ip_key as client_ip_key
from crudauth.utils.http import get_client_ip as get_client_ip
from crudauth.utils.http import is_cross_site as is_cross_site
from crudauth.utils.http import safe_redirect_path as safe_redirect_path
from crudauth.utils.identifiers import canonical_email as canonical_email
from crudauth.utils.identifiers import canonical_identifier as canonical_identifier
from crudauth.utils.identifiers import mask_email as mask_email

__all__ = [
    "LegacyVerifier",
    "canonical_email",
    "canonical_identifier",
    "client_ip_key",
    "dummy_verify_password",
    "get_client_ip",
    "get_password_hash",
    "get_password_hash_async",
    "is_cross_site",
    "is_unusable_password",
    "make_unusable_password",
    "mask_email",
    "normalize_password",
    "safe_redirect_path",
    "takes_two_arguments",
    "verify_and_update_password",
    "verify_and_update_password_async",
    "verify_legacy_password",
    "verify_legacy_password_async",
    "verify_password",
    "verify_password_async",
    "verify_plain_bcrypt",
]
