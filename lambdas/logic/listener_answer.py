"""A known listener's answers, composed without recording anything: their personal songs or
artists (:mod:`lambdas.logic.personal`) and their home screen's carousels in the contextual
bandit's order (:mod:`lambdas.logic.home`).

The recommendations routes compose an answer here and then record it (the issued answers with
the bandit's decisions); the console's preview composes the same answers and records nothing."""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from typing import Any

from lambdas.logic import home
from lambdas.logic.bandit_state import PolicyState, policy_state
from lambdas.logic.content import active_version
from lambdas.logic.personal import Kind, personal_list
from lambdas.logic.services import Services
from lambdas.logic.vocabulary import body_region, vocabulary
from lambdas.store.dynamodb import RequestStore


def asked_region(svc: Services, version: str, region: str | None) -> str | None:
    """A region asked for by name (``?region=``) by its canonical name: known, or
    :class:`AnswerError` (a 400 listing the known ones); None when none was asked for."""
    if region is None:
        return None
    return body_region(vocabulary(svc, version), region).name


@dataclass(frozen=True)
class Personal:
    """A listener's personal songs or artists (``payload``: user_id, kind, source, items), the
    variant it is served under and the batch version it comes from."""

    payload: dict[str, Any]
    variant: str
    batch_version: str


def compose_personal(
    svc: Services, user_id: str, kind: Kind, limit: int, per_artist: int, per_album: int,
    region: str | None,
) -> Personal:  # fmt: skip
    """The listener's songs or artists (:func:`lambdas.logic.personal.personal_list`)."""
    version = active_version(svc)
    payload = personal_list(svc, user_id, kind, limit, per_artist, per_album,
                            asked_region(svc, version, region))  # fmt: skip
    return Personal(payload, svc.variant(user_id), version)


@dataclass(frozen=True)
class HomeScreen:
    """A listener's home screen: the carousels in the bandit's order (``screen``), the policy
    state it ranked with, the batch version and the answer's warnings."""

    user_id: str
    screen: home.Screen
    policy: PolicyState
    batch_version: str
    warnings: list[dict[str, str]]


def compose_home(
    svc: Services,
    user_id: str,
    limit: int,
    carousels: int | None,
    region: str | None,
    rng: random.Random,
) -> HomeScreen:
    """The carousels that have something to show (at most ``carousels``), ``limit`` items each,
    in the order of the home bandit (``rng``: its randomness); the listener's events and profile
    read once for them all."""
    version = active_version(svc)
    region = asked_region(svc, version, region)
    request = dataclasses.replace(svc, store=RequestStore(svc.store))
    found, context = home.candidates(request, user_id, limit, region)
    state = policy_state(svc, home.SPEC)
    screen = home.order(state.posterior, found, context, rng, carousels)
    warnings = []
    if carousels is not None and len(screen.placed) < carousels:
        warnings.append({"field": "carousels", "message": f"carousels: {len(screen.placed)} of "
                         f"the {carousels} asked for have something to show"})  # fmt: skip
    return HomeScreen(user_id, screen, state, version, warnings)
