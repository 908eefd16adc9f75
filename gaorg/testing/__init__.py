"""Test kit that ships with gaorg: fixtures a user's own tests can reuse (stand-in exchange, markets)."""
