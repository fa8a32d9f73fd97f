"""The docs: every public name has a reference entry and every recipe file exists."""

from __future__ import annotations

import re
from pathlib import Path

import crudauth

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference"
RECIPES = ROOT / "docs" / "recipes"
# ``__version__`` is a plain string, described in prose on the reference index page.
PROSE_ONLY = {"__version__"}


def reference_directives() -> set[str]:
    """Return the object paths rendered by ``::: path`` lines of the reference pages."""
    paths: set[str] = set()
    for page in REFERENCE.glob("*.md"):
        paths.update(re.findall(r"^::: ([\w.]+)\s*$", page.read_text(), flags=re.MULTILINE))
    return paths


def test_reference_covers_root_exports() -> None:
    rendered_names = {path.rsplit(".", 1)[-1] for path in reference_directives()}
    missing = sorted(set(crudauth.__all__) - PROSE_ONLY - rendered_names)
    assert missing == [], f"add a '::: module.Name' entry under docs/reference/ for {missing}"


def test_reference_entries_are_the_root_objects() -> None:
    import importlib

    for path in reference_directives():
        module_name, _, name = path.rpartition(".")
        if name not in crudauth.__all__:
            continue
        module = importlib.import_module(module_name)
        # The page must document the object the root exports, not a same-named one.
        assert getattr(module, name) is getattr(crudauth, name), path


def test_reference_index_describes_version() -> None:
    index = (REFERENCE / "index.md").read_text()
    assert "crudauth.__version__" in index


def test_recipe_pages_include_existing_files() -> None:
    included = []
    for page in RECIPES.glob("*.md"):
        included += re.findall(r'^--8<-- "([^"]+)"$', page.read_text(), flags=re.MULTILINE)
    for path in included:
        assert (ROOT / path).is_file(), path
    recipes = {
        "username_only",
        "existing_users_table",
        "server_set_fields",
        "token_api",
        "web_and_api",
        "account_management",
        "building_blocks",
        "email_password",
        "phone_recovery",
        "sign_in_with_google",
        "email_password_and_google",
    }
    assert {f"examples/{name}/app.py" for name in recipes} <= set(included)
