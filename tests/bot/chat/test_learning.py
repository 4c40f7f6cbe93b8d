"""The matcher learns routing from the district's own work: a 签收 confirms, a 转派 by 区营商办 corrects.

The acceptance test runs two app instances on PostgreSQL and Redis: a transfer made through one changes the unit
the other chooses for a near-identical new message within seconds.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import Engine, select

from bot.platform import db
from bot.platform.settings import Settings
from bot.services import open_services, prepare_database
from routing import dispatch, examples, lifecycle
from routing.examples import ExampleSource, LabelledExample
from routing.models import Appeal
from tests.conftest import needs_semantic
from tests.routing.support import file, staff, supervisor

CASE = "我们在政务大厅办食品经营许可，窗口说材料不全让我们回去补，补了三次还是不行"
SAME_CASE = "我们在政务大厅办食品经营许可，窗口说材料不全让我们回去补，补了3次还是不行。"
CORRECTED = "区市场监管局"


def transfer_case(engine: Engine) -> str:
    """File CASE (category C04, so 区审批局) and have 区营商办 transfer it to CORRECTED; the appeal's reference."""
    with db.transaction(db.session_factory(engine)) as session:
        appeal = file(session, category="C04", description=CASE)
        dispatch.transfer(
            session=session,
            appeal_id=appeal.id,
            actor=supervisor(session),
            unit=CORRECTED,
            reason="食品经营许可归市场监管",
        )
        return appeal.reference


@needs_semantic
async def test_a_transfer_changes_the_unit_on_the_other_instance_within_seconds(production_settings: Settings) -> None:
    first = await open_services(production_settings, load_demo=True)
    second = await open_services(production_settings, load_demo=True)
    try:
        before = await second.match_index.match(SAME_CASE)
        assert before.intent == "appeal" and before.lead_unit != CORRECTED
        engine = db.make_engine(production_settings.database_url)
        try:
            await asyncio.to_thread(transfer_case, engine)
        finally:
            engine.dispose()
        await first.match_index.notify_changed()  # what the console does after a 转派
        started = time.monotonic()
        while (await second.match_index.match(SAME_CASE)).lead_unit != CORRECTED:
            assert time.monotonic() - started < 5.0, "the other instance did not learn the transfer within 5 s"
            await asyncio.sleep(0.1)
        result = await second.match_index.match(SAME_CASE)
        assert result.nearest[0].example.source == ExampleSource.TRANSFER and result.nearest[0].similarity > 0.95
        assert (await first.match_index.match(SAME_CASE)).lead_unit == CORRECTED
    finally:
        await first.close()
        await second.close()


def test_sign_confirms_and_a_transfer_replaces_the_example(settings: Settings) -> None:
    engine = db.make_engine(settings.database_url)
    prepare_database(engine, load_demo=False)
    try:
        with db.transaction(db.session_factory(engine)) as session:
            seeded = examples.counts(session=session)[ExampleSource.SEED]
            appeal = file(session, category="C06")
            lifecycle.sign(session=session, appeal_id=appeal.id, actor=staff(session, "区审批局"))
            found = session.scalars(select(LabelledExample).where(LabelledExample.appeal_id == appeal.id)).all()
            assert [(row.source, row.unit, row.category) for row in found] == [(ExampleSource.SIGN, "区审批局", "C06")]
            other = file(session, category="C06", description="执照办下来了，消防许可一直批不下来，开不了业")
            dispatch.return_appeal(
                session=session, appeal_id=other.id, actor=staff(session, "区审批局"), reason_code="R01"
            )
            dispatch.transfer(
                session=session, appeal_id=other.id, actor=supervisor(session), unit="区市场监管局", reason="职责"
            )
            rows = session.scalars(select(LabelledExample).where(LabelledExample.appeal_id == other.id)).all()
            assert [(row.source, row.unit, row.actor) for row in rows] == [
                (ExampleSource.TRANSFER, "区市场监管局", "wang")
            ]
            assert examples.counts(session=session)[ExampleSource.SEED] == seeded > 1000
            version = examples.version(session=session)
            assert examples.remove(session=session, example_id=rows[0].id) and not examples.remove(
                session=session, example_id=rows[0].id
            )
            assert examples.version(session=session) != version
            assert session.get(Appeal, other.id) is not None
        with db.transaction(db.session_factory(engine)) as session:
            assert examples.ensure_seeded(session=session, now=appeal.created_at) == 0  # seeded once per database
    finally:
        engine.dispose()
