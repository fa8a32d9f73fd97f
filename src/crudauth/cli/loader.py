"""Load the app's ``CRUDAuth`` object from an import path and run its lifespan.

The import path has uvicorn's form, ``module.path:attribute``. When the module also
defines an ASGI app (``app`` by default) with a lifespan, that lifespan runs around the
command, so the tables it creates and the stores it opens are the real ones. The
lifespan is expected to call ``auth.initialize()`` and ``auth.shutdown()``. Calls to
both are recorded while it runs, and whichever the lifespan skipped is made here, so
every command runs against initialized stores either way.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from crudauth.crud_auth import CRUDAuth

__all__ = [
    "APP_ENV_VAR",
    "AppLoadError",
    "LoadedApp",
    "UsageError",
    "load_app",
    "reload_auth",
    "running_app",
]

APP_ENV_VAR = "CRUDAUTH_APP"
DEFAULT_ASGI_ATTRIBUTE = "app"


class UsageError(Exception):
    """The command line names no valid ``CRUDAuth`` object (exit status 2)."""


class AppLoadError(Exception):
    """Importing the app's module raised (exit status 1)."""


@dataclass
class LoadedApp:
    """The ``CRUDAuth`` object, its module, and the ASGI app found beside it.

    Attributes:
        auth: The app's ``CRUDAuth`` object.
        module: The imported module.
        import_path: The ``module:attribute`` path it was loaded from.
        asgi_app: The Starlette or FastAPI app of the same module, or ``None``.
        lifespan_called_initialize: ``None`` until a lifespan has run, then whether
            that lifespan called ``auth.initialize()``.
        notes: Remarks for the operator, printed before the command's output.
    """

    auth: CRUDAuth
    module: ModuleType
    import_path: str
    asgi_app: Any = None
    lifespan_called_initialize: bool | None = None
    notes: list[str] = field(default_factory=list)


def _split_import_path(import_path: str) -> tuple[str, str]:
    module_name, _, attribute = import_path.partition(":")
    if not module_name or not attribute:
        raise UsageError(
            f"invalid import path {import_path!r}: use 'module:attribute', "
            "for example --auth myapp.main:auth"
        )
    return module_name, attribute


def _resolve_attribute(module: ModuleType, attribute: str, import_path: str) -> Any:
    value: Any = module
    for part in attribute.split("."):
        if not hasattr(value, part):
            raise UsageError(f"{import_path!r}: attribute {part!r} not found")
        value = getattr(value, part)
    return value


def _add_app_dir(app_dir: str | None) -> None:
    # Like uvicorn: the app directory (the working directory by default) comes first
    # on sys.path, so "app:auth" finds ./app.py.
    directory = os.path.abspath(app_dir if app_dir else os.getcwd())
    if directory not in sys.path:
        sys.path.insert(0, directory)


def load_app(
    import_path: str | None, *, app_dir: str | None = None, asgi_attribute: str | None = None
) -> LoadedApp:
    """Import the module of ``import_path`` and return its ``CRUDAuth`` object.

    Args:
        import_path: ``module:attribute``, or ``None`` to read the ``CRUDAUTH_APP``
            environment variable.
        app_dir: Directory put first on ``sys.path``. Defaults to the working
            directory.
        asgi_attribute: Name of the ASGI app whose lifespan runs around commands.
            ``None`` means ``app``, and ``""`` disables the lookup.

    Returns:
        The loaded app. ``asgi_app`` is set only for a Starlette or FastAPI app.

    Raises:
        UsageError: No import path, a malformed one, a missing directory, module or
            attribute, or an attribute that is not a ``CRUDAuth``.
        AppLoadError: Importing the module raised.
    """
    import_path = import_path or os.environ.get(APP_ENV_VAR) or ""
    if not import_path:
        raise UsageError(
            f"no app given: pass --auth module:attribute or set {APP_ENV_VAR}, "
            "for example --auth myapp.main:auth"
        )
    if app_dir is not None and not Path(app_dir).is_dir():
        raise UsageError(f"--app-dir {app_dir!r} is not a directory")
    module_name, attribute = _split_import_path(import_path)
    _add_app_dir(app_dir)
    module = _import_module(module_name, import_path)
    auth = _resolve_attribute(module, attribute, import_path)
    if not isinstance(auth, CRUDAuth):
        raise UsageError(
            f"{import_path!r} is a {type(auth).__name__}, not a CRUDAuth object; point "
            "--auth at the object built with CRUDAuth(...)"
        )
    name = DEFAULT_ASGI_ATTRIBUTE if asgi_attribute is None else asgi_attribute
    asgi_app = getattr(module, name, None) if name else None
    # Only a Starlette or FastAPI app exposes the lifespan this runner can enter.
    if getattr(getattr(asgi_app, "router", None), "lifespan_context", None) is None:
        asgi_app = None
    return LoadedApp(auth=auth, module=module, import_path=import_path, asgi_app=asgi_app)


def _import_module(module_name: str, import_path: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only a missing target module is a usage error; a missing dependency of the
        # module is the app's own import failure.
        if exc.name is not None and module_name.startswith(exc.name):
            raise UsageError(
                f"{import_path!r}: module {module_name!r} not found; check --app-dir"
            ) from exc
        raise AppLoadError(f"importing {module_name!r} failed: {exc}") from exc
    except Exception as exc:
        raise AppLoadError(
            f"importing {module_name!r} failed: {type(exc).__name__}: {exc}"
        ) from exc


def reload_auth(loaded: LoadedApp) -> CRUDAuth | None:
    """Execute the app's module a second time and return that copy's ``CRUDAuth``.

    The copy is not registered in ``sys.modules``, so the loaded app is untouched. A
    deployment check uses it to spot settings that change on every start.

    Args:
        loaded: The app loaded by ``load_app``.

    Returns:
        The copy's ``CRUDAuth`` object, or ``None`` when the module cannot be executed
        again or the attribute is no longer a ``CRUDAuth``.
    """
    spec = loaded.module.__spec__
    if spec is None or spec.loader is None:
        return None
    _, attribute = _split_import_path(loaded.import_path)
    copy = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(copy)
        value = _resolve_attribute(copy, attribute, loaded.import_path)
    except Exception:  # a module that cannot run twice is simply not compared
        return None
    return value if isinstance(value, CRUDAuth) else None


def _spy(auth: CRUDAuth, name: str, calls: list[str]) -> Callable[[], Awaitable[None]]:
    original: Callable[[], Awaitable[None]] = getattr(auth, name)

    async def recorded() -> None:
        calls.append(name)
        await original()

    # An instance attribute shadows the method only while the lifespan runs.
    setattr(auth, name, recorded)
    return original


@asynccontextmanager
async def running_app(loaded: LoadedApp, *, use_lifespan: bool = True) -> AsyncIterator[CRUDAuth]:
    """Run the app's lifespan (or ``auth.initialize()``) around the block.

    When the lifespan skips ``auth.initialize()``, it is called here and a note is
    added to ``loaded.notes``. ``auth.shutdown()`` runs on the way out when the
    lifespan did not call it.

    Args:
        loaded: The app loaded by ``load_app``.
        use_lifespan: Enter the ASGI app's lifespan when there is one. ``False`` only
            calls ``auth.initialize()`` and ``auth.shutdown()``.

    Yields:
        The app's ``CRUDAuth`` object, initialized.
    """
    auth = loaded.auth
    asgi_app = loaded.asgi_app if use_lifespan else None
    if asgi_app is None:
        await auth.initialize()
        try:
            yield auth
        finally:
            await auth.shutdown()
        return

    calls: list[str] = []
    _spy(auth, "initialize", calls)
    _spy(auth, "shutdown", calls)
    try:
        try:
            async with asgi_app.router.lifespan_context(asgi_app):
                loaded.lifespan_called_initialize = "initialize" in calls
                if not loaded.lifespan_called_initialize:
                    loaded.notes.append(
                        "the app's lifespan did not call auth.initialize(); the command "
                        "called it instead"
                    )
                    await auth.initialize()
                yield auth
        finally:
            if "initialize" in calls and "shutdown" not in calls:
                await auth.shutdown()
    finally:
        # Drop the instance attributes so the class methods show through again.
        vars(auth).pop("initialize", None)
        vars(auth).pop("shutdown", None)
