"""The initiative profile's fields: the one table flows, the conversation and the store share.

Imports nothing, so every room may import it (like errors and config): content and store,
which both need it, may import no other room.
"""

from __future__ import annotations

__all__ = ["LIST_COLUMNS", "PROFILE_COLUMNS"]

from collections.abc import Mapping
from types import MappingProxyType

# Profile field as flows name it (`from_profile:`, the profile flow's answer ids) -> the
# initiatives column and Profile attribute that hold it. The profile flow asks for one theme,
# but the store keeps a list of them: hence 'theme' -> 'themes'.
PROFILE_COLUMNS: Mapping[str, str] = MappingProxyType(
    {
        "name": "name",
        "legal_form": "legal_form",
        "area": "area",
        "theme": "themes",
        "stage": "stage",
    }
)
# The columns holding a list of values (a tuple in Profile); the others hold one string.
LIST_COLUMNS: frozenset[str] = frozenset({"themes"})
