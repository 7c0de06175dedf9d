"""What a clip shows, from its description (CMU's listing, an action folder's or a clip's name): one category per
clip for the pose library's card."""

from __future__ import annotations

#: (category, words that put a description in it); the first category with a word in the description wins, so a
#: dance with jumps is a dance and 'basketball signals' are signals.
CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("dance", ("dance",)),
    ("signalling, directing traffic", ("signal", "traffic")),
    ("sports", ("basketball", "soccer", "swordplay", "punch", "boxing", "kick")),
    ("washing", ("wash",)),
    ("sitting on a ledge", ("sit",)),
    ("bending, reaching", ("bend", "reach", "scoop", "lean")),
    ("jumps", ("jump",)),
    ("walking, running", ("walk", "run", "jog", "stride", "navigate")),
    ("acrobatics", ("flip", "cartwheel", "roll", "spin")),
    ("getting up, crawling", ("getup", "crawl")),
)
OTHER = "other"


def category(description: str) -> str:
    """The first of `CATEGORIES` whose words occur in `description` (case-insensitive), else `OTHER`."""
    text = description.lower()
    return next((name for name, words in CATEGORIES if any(w in text for w in words)), OTHER)
