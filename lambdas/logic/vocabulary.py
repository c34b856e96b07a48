"""The onboarding vocabulary of a batch version: the genres and regions its model and lists were
built from (the ``catalog`` family's ``vocabulary`` record, docs/batch-format.md), and matching
a listener's answers to those canonical names, case-insensitively."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lambdas.logic.services import Services
from lambdas.store import keys

KIND, ID = "vocabulary", "onboarding"  # the record's place in the catalog family
LISTED = 25  # names an error message lists before it shortens the list


def _fold(text: str) -> str:
    """The form names are compared in: trimmed, case-folded."""
    return text.strip().casefold()


def _lookup(names: Sequence[str]) -> dict[str, str]:
    """Folded name -> canonical name; where two names fold alike, the first keeps the form."""
    found: dict[str, str] = {}
    for name in names:
        found.setdefault(_fold(name), name)
    return found


@dataclass(frozen=True)
class Vocabulary:
    """Canonical genre and region names; :meth:`genre` and :meth:`region` match answers."""

    genres: tuple[str, ...]
    regions: tuple[str, ...]
    _genres: dict[str, str] = field(init=False, repr=False, compare=False)
    _regions: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_genres", _lookup(self.genres))
        object.__setattr__(self, "_regions", _lookup(self.regions))

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Vocabulary:
        return cls(
            tuple(str(g) for g in record.get("genres") or ()),
            tuple(str(r) for r in record.get("regions") or ()),
        )

    def genre(self, answer: str) -> str | None:
        """The canonical genre an answer names (an exact match first), or None."""
        return answer if answer in self.genres else self._genres.get(_fold(answer))

    def region(self, answer: str) -> str | None:
        """The canonical region an answer names, ``*`` for the national chart, or None."""
        if answer.strip() == keys.NATIONAL:
            return keys.NATIONAL
        return answer if answer in self.regions else self._regions.get(_fold(answer))

    def genre_list(self) -> str:
        """The valid genres, for an error message."""
        return listing(self.genres)

    def region_list(self, answer: str = "") -> str:
        """The valid regions for an error message: those of the answer's country (the part
        before ``-``) where there are any, else all (shortened when long)."""
        country = _fold(answer).partition("-")[0]
        same = [r for r in self.regions if _fold(r).partition("-")[0] == country] if country else []
        return listing(same or self.regions)


def listing(names: Sequence[str], limit: int = LISTED) -> str:
    """``a, b, c``; past ``limit`` names, the first ``limit`` and how many there are in all."""
    shown = ", ".join(names[:limit])
    if len(names) <= limit:
        return shown
    return f"{shown}, ... ({len(names)} in all; {len(names) - limit} more not shown)"


def vocabulary(svc: Services, version: str | None = None) -> Vocabulary | None:
    """The vocabulary of the active (or a given) batch version; cached with the version's other
    records (they never change). None for a version written before batch runs wrote it: such a
    version's answers are not validated, so a stack loaded before this change keeps working."""
    key = keys.record_key("catalog", {"kind": KIND, "id": ID})
    record = svc.store.record("catalog", key, version)
    return Vocabulary.from_record(record) if record else None


class AnswerError(ValueError):
    """An answer outside the vocabulary: the request field it is in and a message (starting
    with the field) that lists the valid names."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def canonical_genres(vocab: Vocabulary | None, selected: Sequence[str]) -> list[str]:
    """The selected genres by their canonical names, in order, each once; :class:`AnswerError`
    naming ``selected_genres.<i>`` for the first unknown one. Without a vocabulary (an older
    version), the answers as given."""
    if vocab is None:
        return list(selected)
    chosen: list[str] = []
    for i, answer in enumerate(selected):
        genre = vocab.genre(answer)
        if genre is None:
            field = f"selected_genres.{i}"
            raise AnswerError(
                field,
                f"{field}: {answer!r} is not a genre of the catalogue; choose among (any case) "
                f"{vocab.genre_list()}",
            )
        chosen.append(genre)
    return list(dict.fromkeys(chosen))


@dataclass(frozen=True)
class Region:
    """The region to answer for, and warnings about how it was chosen (``{"field",
    "message"}``, for the answer's ``warnings``)."""

    name: str
    warnings: tuple[dict[str, str], ...] = ()


def body_region(vocab: Vocabulary | None, answer: str) -> Region:
    """The region the listener gave, by its canonical name (``*``: the national chart);
    :class:`AnswerError` naming ``region`` for an unknown one. Without a vocabulary (an older
    version), the answer as given."""
    if vocab is None:
        return Region(answer)
    region = vocab.region(answer)
    if region is None:
        raise AnswerError(
            "region",
            f"region: {answer!r} is not a region of the catalogue; choose among (any case) "
            f"{vocab.region_list(answer)}, or leave region out for the national chart",
        )
    return Region(region)


def detected_region(vocab: Vocabulary | None, detected: str, source: str) -> Region:
    """A region the listener did not give (``source``: where it came from, e.g. the viewer
    country header): an unknown one is not their fault, so it becomes the national chart, with
    a warning saying so. Without a vocabulary (an older version), the region as detected."""
    if vocab is None:
        return Region(detected)
    region = vocab.region(detected)
    if region is not None:
        return Region(region)
    message = (
        f"region: {detected!r} ({source}) is not a region of the catalogue, so the national "
        f"chart is used; send region (one of {len(vocab.regions)} regions) to choose one"
    )
    return Region(keys.NATIONAL, ({"field": "region", "message": message},))
