"""Exports carry the peer support groups offered on each referral, and the place now."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from bot.config_file import load_config
from bot.i18n import load_catalog
from bot.ops import export, fhir
from bot.ops.reports_cli import make_export
from bot.services.groups import GroupsFlow
from storage import KeyRing, Store
from tests.unit.report_seed import EXAMPLE_CONFIG, W10
from tests.unit.test_export import NOW, seed


async def test_csv_json_and_fhir_list_the_groups_offered(tmp_path: Path) -> None:
    config = load_config(EXAMPLE_CONFIG)
    hiv = config.programme("hiv")
    assert hiv is not None
    key = KeyRing.generate()
    database = tmp_path / "peerdoor.db"
    references = await seed(database, key)
    store = await Store.open(database, KeyRing(key))
    try:
        flow = GroupsFlow(store, config, load_catalog(), lambda: W10)
        async with store.unit() as uow:
            groups = {d.group.id: g for g, d in await flow.groups_of(uow, hiv)}
            referral = await uow.referrals.by_reference(references[0])
            assert referral is not None
            online, malmo = groups["talking_together"], groups["malmo"]
            await uow.groups.offer(online, referral.person_id, referral, "invited", W10)
            await uow.groups.move(online.id, referral.person_id, ("invited",), "member", W10)
            later = W10 + timedelta(minutes=1)  # the order they were offered in
            await uow.groups.offer(malmo, referral.person_id, referral, "waiting", later)
        written = {}
        for fmt in ("csv", "json", "fhir"):
            out = tmp_path / f"out.{fmt}"
            await make_export(store, list(config.programmes), fmt, out, now=NOW, close=False)
            written[fmt] = out.read_bytes()
    finally:
        await store.close()
    want = [("talking_together", "member"), ("malmo", "waiting")]

    rows = list(csv.DictReader(io.StringIO(written["csv"].decode())))
    by_ref = {r["reference"]: r for r in rows}
    assert by_ref[references[0]][export.GROUPS_COLUMN] == "talking_together:member; malmo:waiting"
    assert all(r[export.GROUPS_COLUMN] == "" for ref, r in by_ref.items() if ref != references[0])

    records = {r["reference"]: r for r in json.loads(written["json"])}
    assert [(g["group"], g["place"]) for g in records[references[0]]["peer_groups"]] == want

    bundle = Bundle.model_validate(json.loads(written["fhir"]))
    responses = [e.resource for e in bundle.entry if isinstance(e.resource, QuestionnaireResponse)]
    mine = next(r for r in responses if r.identifier.value == references[0])
    assert [(x.url, x.valueString) for x in mine.extension] == [
        (fhir.PEER_GROUP, "talking_together:member"),
        (fhir.PEER_GROUP, "malmo:waiting"),
    ]
    assert all(not r.extension for r in responses if r.identifier.value != references[0])
