"""Storage backends; import each from its own module."""
