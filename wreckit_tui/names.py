"""Names for new sprites."""

from __future__ import annotations

from collections.abc import Collection


def free_name(taken: Collection[str]) -> str:
    """The first free ``sprite-N``, counting from the size of the fleet."""
    number = len(taken) + 1
    while f"sprite-{number}" in taken:
        number += 1
    return f"sprite-{number}"
