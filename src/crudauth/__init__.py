"""crudauth: authentication for FastAPI apps that own their SQLAlchemy user model."""

from importlib.metadata import PackageNotFoundError, version

from crudauth.constants import REGISTRATION_ALLOWED_FIELDS as REGISTRATION_ALLOWED_FIELDS
from crudauth.constants import REGISTRATION_GATED_FIELDS as REGISTRATION_GATED_FIELDS
from crudauth.core import AuthContext as AuthContext
from crudauth.core import CookieConfig as CookieConfig
from crudauth.core import Transport as Transport
from crudauth.crud_auth import CRUDAuth as CRUDAuth
from crudauth.email import DeliveryChannel as DeliveryChannel
from crudauth.email import DeliveryIntent as DeliveryIntent
from crudauth.email import DeliveryKind as DeliveryKind
from crudauth.email import EmailChannel as EmailChannel
from crudauth.email import EmailConfig as EmailConfig
from crudauth.email import EmailContext as EmailContext
from crudauth.email import EmailFlowResult as EmailFlowResult
from crudauth.email import EmailFlowService as EmailFlowService
from crudauth.email import EmailSender as EmailSender
from crudauth.exceptions import BadRequestException as BadRequestException
from crudauth.exceptions import CSRFException as CSRFException
from crudauth.exceptions import DuplicateValueException as DuplicateValueException
from crudauth.exceptions import ForbiddenException as ForbiddenException
from crudauth.exceptions import NotFoundException as NotFoundException
from crudauth.exceptions import OAuthAccountException as OAuthAccountException
from crudauth.exceptions import PasswordPolicyException as PasswordPolicyException
from crudauth.exceptions import RateLimitException as RateLimitException
from crudauth.exceptions import SudoLockoutError as SudoLockoutError
from crudauth.exceptions import UnauthorizedException as UnauthorizedException
from crudauth.exceptions import UnprocessableEntityException as UnprocessableEntityException
from crudauth.exceptions import ValueTooLongException as ValueTooLongException
from crudauth.hooks import AuthHooks as AuthHooks
from crudauth.hooks import HookContext as HookContext
from crudauth.identity import IdentityConfig as IdentityConfig
from crudauth.mfa.config import MfaConfig as MfaConfig
from crudauth.mfa.service import MfaService as MfaService
from crudauth.models.mixin import AuthUserMixin as AuthUserMixin
from crudauth.models.mixin import make_auth_identity as make_auth_identity
from crudauth.oauth.schemas import OAuthCredentials as OAuthCredentials
from crudauth.oauth.service import OAuthAccountService as OAuthAccountService
from crudauth.password import PasswordContext as PasswordContext
from crudauth.password import PasswordPolicy as PasswordPolicy
from crudauth.principal import Principal as Principal
from crudauth.provisioning import NewUserContext as NewUserContext
from crudauth.provisioning import NewUserFields as NewUserFields
from crudauth.repository import UserRepository as UserRepository
from crudauth.storage.backends.database import DatabaseStore as DatabaseStore
from crudauth.sudo import SudoConfig as SudoConfig
from crudauth.sudo import SudoManager as SudoManager
from crudauth.transports.bearer.transport import BearerTransport as BearerTransport
from crudauth.transports.session.management import SessionInfo as SessionInfo
from crudauth.transports.session.manager import SessionManager as SessionManager
from crudauth.transports.session.transport import SessionTransport as SessionTransport
from crudauth.utils.hashing import get_password_hash as get_password_hash
from crudauth.utils.hashing import get_password_hash_async as get_password_hash_async
from crudauth.utils.hashing import is_unusable_password as is_unusable_password
from crudauth.utils.hashing import make_unusable_password as make_unusable_password
from crudauth.utils.hashing import verify_password as verify_password
from crudauth.utils.hashing import verify_password_async as verify_password_async
from crudauth.utils.http import safe_redirect_path as safe_redirect_path

try:
    __version__ = version("crudauth")
except PackageNotFoundError:  # pragma: no cover - only when run from an uninstalled tree
    __version__ = "0.0.0"

__all__ = [
    "REGISTRATION_ALLOWED_FIELDS",
    "REGISTRATION_GATED_FIELDS",
    "AuthContext",
    "AuthHooks",
    "AuthUserMixin",
    "BadRequestException",
    "BearerTransport",
    "CRUDAuth",
    "CSRFException",
    "CookieConfig",
    "DatabaseStore",
    "DeliveryChannel",
    "DeliveryIntent",
    "DeliveryKind",
    "DuplicateValueException",
    "EmailChannel",
    "EmailConfig",
    "EmailContext",
    "EmailFlowResult",
    "EmailFlowService",
    "EmailSender",
    "ForbiddenException",
    "HookContext",
    "IdentityConfig",
    "MfaConfig",
    "MfaService",
    "NewUserContext",
    "NewUserFields",
    "NotFoundException",
    "OAuthAccountException",
    "OAuthAccountService",
    "OAuthCredentials",
    "PasswordContext",
    "PasswordPolicy",
    "PasswordPolicyException",
    "Principal",
    "RateLimitException",
    "SessionInfo",
    "SessionManager",
    "SessionTransport",
    "SudoConfig",
    "SudoLockoutError",
    "SudoManager",
    "Transport",
    "UnauthorizedException",
    "UnprocessableEntityException",
    "UserRepository",
    "ValueTooLongException",
    "__version__",
    "get_password_hash",
    "get_password_hash_async",
    "is_unusable_password",
    "make_auth_identity",
    "make_unusable_password",
    "safe_redirect_path",
    "verify_password",
    "verify_password_async",
]
