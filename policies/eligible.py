"""政策找人 on the policy list: which policies fit an enterprise, and which enterprises fit a policy.

The conditions are the policy's tags (enterprises.eligibility reads them); the enterprises are their profiles.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from enterprises import service as enterprise_service
from enterprises.eligibility import Conditions, Profile, Verdict, conditions, eligible_query, evaluate
from intents.records import PolicyDoc
from policies.models import Policy
from policies.service import published_docs


def doc_conditions(doc: PolicyDoc) -> Conditions:
    """Who a policy (as the matcher holds it) is for."""
    return conditions(dict(doc.tags))


def verdicts(*, docs: Iterable[PolicyDoc], profile: Profile, today: date) -> dict[str, Verdict]:
    """The verdict of each policy for one enterprise, by code."""
    return {doc.code: evaluate(doc_conditions(doc), profile, today=today) for doc in docs}


def fitting_first(docs: Sequence[PolicyDoc], found: dict[str, Verdict]) -> list[PolicyDoc]:
    """The policies the enterprise qualifies for first, then those it cannot tell, then the others; stable."""
    rank = {True: 0, None: 1, False: 2}
    return sorted(docs, key=lambda doc: rank[found[doc.code].eligible] if doc.code in found else 1)


def qualifying(*, session: Session, profile: Profile, today: date) -> list[tuple[PolicyDoc, Verdict]]:
    """Every published policy valid today that the enterprise qualifies for, with the reason: those aimed at
    enterprises like it first, then those for every enterprise; by code within each."""
    docs = published_docs(session=session, today=today)
    found = verdicts(docs=docs, profile=profile, today=today)
    fitting = [doc for doc in docs if found[doc.code].eligible]
    fitting.sort(key=lambda doc: doc_conditions(doc).none)
    return [(doc, found[doc.code]) for doc in fitting]


def eligible_ids(*, session: Session, policy: Policy, today: date) -> list[int]:
    """The ids of the enterprises that meet a policy's conditions, in id order."""
    statement = eligible_query(conditions(policy.tags or {}), today=today).order_by(None)
    return sorted(int(value) for value in session.scalars(statement))


def profile_of(*, session: Session, uscc: str) -> Profile | None:
    """The profile of the enterprise with this code, or None when there is none."""
    enterprise = enterprise_service.get(session=session, uscc=uscc)
    return Profile.of(enterprise) if enterprise is not None else None


def annotate(
    payload: dict[str, Any], *, policy: Callable[[str], PolicyDoc | None], profile: Profile, today: date
) -> dict[str, Any]:
    """A match result (docs/interfaces.md) with `eligible` (true, false or null) and its reason on each policy."""
    for item in payload.get("policies", []):
        doc = policy(str(item["code"]))
        verdict = evaluate(doc_conditions(doc), profile, today=today) if doc else Verdict(None, "")
        item["eligible"] = verdict.eligible
        item["eligibility"] = verdict.reason
    return payload
