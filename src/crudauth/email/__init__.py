"""Email and phone recovery: verification, password reset and email change."""

from crudauth.email.channel import DeliveryChannel as DeliveryChannel
from crudauth.email.channel import DeliveryIntent as DeliveryIntent
from crudauth.email.channel import DeliveryKind as DeliveryKind
from crudauth.email.channel import EmailChannel as EmailChannel
from crudauth.email.config import EmailConfig as EmailConfig
from crudauth.email.sender import EmailContext as EmailContext
from crudauth.email.sender import EmailSender as EmailSender
from crudauth.email.service import EmailFlowResult as EmailFlowResult
from crudauth.email.service import EmailFlowService as EmailFlowService

__all__ = [
    "DeliveryChannel",
    "DeliveryIntent",
    "DeliveryKind",
    "EmailChannel",
    "EmailConfig",
    "EmailContext",
    "EmailFlowResult",
    "EmailFlowService",
    "EmailSender",
]
