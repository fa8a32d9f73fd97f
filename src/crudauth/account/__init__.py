"""Account routes: ``/me``, ``/set-password`` and ``/change-password``."""

from crudauth.account.router import build_account_router as build_account_router

__all__ = ["build_account_router"]
