"""The 12 seed families of the original system, one module each (some families give two roles)."""
