"""A new listener's onboarding answer, composed without recording anything: the genres (the
model's, or the rule's in the rules variant and when the model fails), the stations, songs and
artists of those genres in their region (:mod:`lambdas.logic.onboarding`), and in the ``bandit``
variant the stations a contextual bandit chose (:mod:`lambdas.logic.onboarding_bandit`).

The onboarding route composes an answer with :func:`compose` and then records it (the profile,
the issued answer with the bandit's decision, its metrics); the console's preview composes the
same answer and records nothing."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Protocol

from lambdas.logic import onboarding_bandit
from lambdas.logic.bandit_state import PolicyState, policy_state
from lambdas.logic.content import active_version
from lambdas.logic.onboarding import (
    EVERY_GENRE,
    TOP_GENRES,
    GenreChoice,
    choose_genres,
    model_instance,
    onboarding_content,
)
from lambdas.logic.services import Services
from lambdas.logic.vocabulary import (
    Region,
    Vocabulary,
    body_region,
    canonical_genres,
    detected_region,
    vocabulary,
)

VIEWER_COUNTRY_SOURCE = "the CloudFront-Viewer-Country header"


class Answers(Protocol):
    """What an answer is composed from: the onboarding request's answers (its validated body)."""

    @property
    def age(self) -> int | None: ...
    @property
    def gender(self) -> str | None: ...
    @property
    def region(self) -> str | None: ...
    @property
    def selected_genres(self) -> list[str]: ...
    @property
    def answers(self) -> dict[str, Any]: ...
    @property
    def limit(self) -> int: ...


@dataclass(frozen=True)
class Stations:
    """The bandit variant's ranking: the bandit's choice (no stations: it had nothing to choose
    from, the charts' order stands) and the policy state it ranked with."""

    picked: onboarding_bandit.Choice
    policy: PolicyState


@dataclass(frozen=True)
class Composed:
    """An onboarding answer before it is recorded: ``payload`` (genres, region, source, stations,
    songs, artists, warnings), the variant and model version it is served under, the batch
    version its lists come from, the listener's canonical selected genres, the genre choice and,
    in the bandit variant with the model's genres, the bandit's ranking."""

    payload: dict[str, Any]
    variant: str
    batch_version: str
    selected: list[str]
    choice: GenreChoice
    bandit: Stations | None = None

    @property
    def model_version(self) -> str:
        return self.choice.model_version

    @property
    def region(self) -> str:
        return str(self.payload["region"])

    @property
    def decision(self) -> dict[str, Any] | None:
        """What the issued record keeps for the bandit (None: no bandit chose the stations)."""
        if self.bandit is None or not self.bandit.picked.stations:
            return None
        return onboarding_bandit.decision(self.bandit.picked)

    def profile(self, at: int) -> dict[str, Any]:
        """The listener's onboarding profile, as the route stores it (``at``: epoch seconds)."""
        return {"region": self.region, "genres": [g["genre"] for g in self.choice.genres],
                "selected_genres": self.selected, "variant": self.variant,
                "source": self.choice.source, "at": at}  # fmt: skip


def answer_region(
    answers: Answers, vocab: Vocabulary | None, default: str, country: str | None
) -> Region:
    """The body's region (an unknown one: :class:`AnswerError`, a 400), else ``country`` (the
    viewer country API Gateway forwards), else the default (either one unknown: the national
    chart, with a warning)."""
    if answers.region:
        return body_region(vocab, answers.region)
    if country:
        return detected_region(vocab, country, VIEWER_COUNTRY_SOURCE)
    return detected_region(vocab, default, "the default region")


def bandit_stations(
    svc: Services,
    region: str,
    choice: GenreChoice,
    selected: list[str],
    limit: int,
    charted: list[dict[str, Any]],
    rng: random.Random,
) -> tuple[list[dict[str, Any]], Stations]:
    """The bandit variant's stations (:mod:`lambdas.logic.onboarding_bandit`), then the charts'
    while short (nothing to choose from: the charts'); and the bandit's ranking."""
    state = policy_state(svc, onboarding_bandit.SPEC)
    found = onboarding_bandit.candidates(svc, region, choice.probabilities, selected)
    picked = onboarding_bandit.choose(svc, state, found, limit, rng)
    if not picked.stations:
        return charted, Stations(picked, state)
    chosen = {s["id"] for s in picked.stations}
    stations = [*picked.stations, *(s for s in charted if s["id"] not in chosen)][:limit]
    return stations, Stations(picked, state)


def compose(
    svc: Services, answers: Answers, variant: str, country: str | None, rng: random.Random
) -> Composed:
    """The answer to ``answers`` under ``variant`` (``country``: the viewer country header's, if
    any; ``rng``: the bandit's randomness). Unknown genres or regions: :class:`AnswerError`."""
    version = active_version(svc)
    vocab = vocabulary(svc, version)
    selected = canonical_genres(vocab, answers.selected_genres)  # unknown: 400 (AnswerError)
    found = answer_region(answers, vocab, svc.settings.default_region, country)
    region = found.name
    validated = {"age": answers.age, "gender": answers.gender, "region": region,
                 "selected_genres": selected}  # fmt: skip
    top_k = EVERY_GENRE if variant == onboarding_bandit.VARIANT else TOP_GENRES
    instance = model_instance(validated, answers.answers)
    choice = choose_genres(svc, variant, instance, selected, top_k)
    names = [g["genre"] for g in choice.genres]
    content = onboarding_content(svc, region, names, answers.limit, vocab)
    stations = None
    if variant == onboarding_bandit.VARIANT and choice.source == "model":
        content["stations"], stations = bandit_stations(
            svc, region, choice, selected, answers.limit, content["stations"], rng
        )
    payload = {"genres": choice.genres, "region": region, "source": choice.source, **content,
               "warnings": list(found.warnings)}  # fmt: skip
    return Composed(payload, variant, version, selected, choice, stations)
