"""Names, endpoints, sizes and failure codes of the OAuth sign-in."""

from crudauth.constants import OAUTH_STATE_TTL_SECONDS

GOOGLE = "google"
GITHUB = "github"

# Failure codes a callback reports as ``?error=<code>`` or as the JSON ``detail``.
OAUTH_FAILED = "oauth_failed"
INVALID_STATE = "invalid_state"
EMAIL_MISSING = "email_missing"
EMAIL_UNVERIFIED = "email_unverified"
EMAIL_TOO_LONG = "email_too_long"
PROVIDER_ALREADY_LINKED = "provider_already_linked"
ACCOUNT_INACTIVE = "account_inactive"

INVALID_STATE_DETAIL = "Invalid or expired OAuth state"
UNKNOWN_PROVIDER_DETAIL = "Unknown or unconfigured OAuth provider: '{name}'"

# Username derivation for accounts created from a provider profile.
USERNAME_MIN_LENGTH = 2
USERNAME_MAX_LENGTH = 32
USERNAME_FALLBACK = "user"
USERNAME_MAX_SUFFIX_ATTEMPTS = 99
USERNAME_RANDOM_SUFFIX_BYTES = 4

STATE_BYTES = 32
PKCE_VERIFIER_BYTES = 64

OAUTH_STATE_COOKIE_NAME = "oauth_state"
OAUTH_STATE_STORAGE_PREFIX = "oauth_state:"
OAUTH_STATE_COOKIE_MAX_AGE = OAUTH_STATE_TTL_SECONDS
OAUTH_HTTP_TIMEOUT_SECONDS = 10.0
OAUTH_AUTHORIZE_ACTION = "oauth_authorize"
OAUTH_LOGIN_TYPE = "oauth"

GOOGLE_AUTHORIZE_ENDPOINT = "https://accounts.google.com/o/oauth2/v2/auth"
GOOGLE_TOKEN_ENDPOINT = "https://oauth2.googleapis.com/token"
GOOGLE_USERINFO_ENDPOINT = "https://www.googleapis.com/oauth2/v3/userinfo"
GOOGLE_DEFAULT_SCOPES = (
    "openid",
    "https://www.googleapis.com/auth/userinfo.email",
    "https://www.googleapis.com/auth/userinfo.profile",
)

GITHUB_AUTHORIZE_ENDPOINT = "https://github.com/login/oauth/authorize"
GITHUB_TOKEN_ENDPOINT = "https://github.com/login/oauth/access_token"
GITHUB_USERINFO_ENDPOINT = "https://api.github.com/user"
GITHUB_EMAILS_ENDPOINT = "https://api.github.com/user/emails"
GITHUB_DEFAULT_SCOPES = ("read:user", "user:email")

OIDC_DISCOVERY_PATH = "/.well-known/openid-configuration"
OIDC_DEFAULT_SCOPES = ("openid", "profile", "email")
# Hosts where an issuer may use plain http: a provider running on this machine.
OIDC_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# Signature algorithms accepted on ID tokens. "none" and the HMAC family are absent on
# purpose: an HMAC key would be the client secret, which a public client does not have.
OIDC_ID_TOKEN_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256")
# Clock skew tolerated on the ID token's exp and iat claims, in seconds.
OIDC_CLOCK_SKEW_SECONDS = 60

TOKEN_AUTH_POST = "client_secret_post"
TOKEN_AUTH_BASIC = "client_secret_basic"

HTTPX_MISSING = "OAuth sign-in needs httpx; install it with: pip install 'crudauth[oauth]'"
