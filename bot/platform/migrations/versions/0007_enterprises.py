"""enterprise profiles, the shared tag vocabulary, pushes and redemptions (政策找人, issue 13)

New tables only, plus data: the extendable vocabularies are seeded (the shipped 资质 and 街道, and any used by
existing policies), and existing policy tags move onto the vocabulary: 行业 names become GB/T 4754-2017 门类
(values that are not an industry, such as 科技 or 外贸, become the label 领域), 主体:个体工商户 becomes a 资质,
规模 takes its canonical form. Each policy so changed gets a new version, by 系统升级.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 15:00:00
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "enterprises",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("industry", sa.String(length=64), nullable=True),
        sa.Column("size", sa.String(length=4), nullable=True),
        sa.Column("qualifications", sa.JSON(), nullable=True),
        sa.Column("street", sa.String(length=64), nullable=True),
        sa.Column("founded_on", sa.Date(), nullable=True),
        sa.Column("employees", sa.Integer(), nullable=True),
        sa.Column("contact", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enterprises")),
        sa.UniqueConstraint("uscc", name=op.f("uq_enterprises_uscc")),
    )
    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enterprises_industry"), ["industry"], unique=False)
        batch_op.create_index(batch_op.f("ix_enterprises_size"), ["size"], unique=False)
        batch_op.create_index(batch_op.f("ix_enterprises_street"), ["street"], unique=False)
        batch_op.create_index(batch_op.f("ix_enterprises_updated_at"), ["updated_at"], unique=False)

    op.create_table(
        "tag_terms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tag_terms")),
        sa.UniqueConstraint("key", "value", name=op.f("uq_tag_terms_key")),
    )
    op.create_table(
        "enterprise_bindings",
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("bound_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_enterprise_bindings_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("openid", name=op.f("pk_enterprise_bindings")),
    )
    with op.batch_alter_table("enterprise_bindings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enterprise_bindings_enterprise_id"), ["enterprise_id"], unique=False)

    op.create_table(
        "enterprise_qualifications",
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_enterprise_qualifications_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("enterprise_id", "value", name=op.f("pk_enterprise_qualifications")),
    )
    with op.batch_alter_table("enterprise_qualifications", schema=None) as batch_op:
        batch_op.create_index("ix_enterprise_qualifications_value", ["value"], unique=False)

    _push_tables()
    _retag_policies()


def _push_tables() -> None:
    op.create_table(
        "push_opt_outs",
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("openid", "kind", name=op.f("pk_push_opt_outs")),
    )
    op.create_table(
        "template_reports",
        sa.Column("msgid", sa.BigInteger(), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("matched", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("msgid", name=op.f("pk_template_reports")),
    )
    with op.batch_alter_table("template_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_template_reports_openid"), ["openid"], unique=False)

    op.create_table(
        "push_campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("eligible", sa.Integer(), nullable=False),
        sa.Column("bound", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["policy_id"], ["policies.id"], name=op.f("fk_push_campaigns_policy_id_policies"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_campaigns")),
        sa.UniqueConstraint("policy_id", "policy_version", "kind", name=op.f("uq_push_campaigns_policy_id")),
    )
    with op.batch_alter_table("push_campaigns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_push_campaigns_policy_id"), ["policy_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_push_campaigns_state"), ["state"], unique=False)

    op.create_table(
        "redemptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("note", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_redemptions_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"], ["policies.id"], name=op.f("fk_redemptions_policy_id_policies"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redemptions")),
    )
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_redemptions_enterprise_id"), ["enterprise_id"], unique=False)
        batch_op.create_index("ix_redemptions_policy_id_enterprise_id", ["policy_id", "enterprise_id"], unique=False)

    op.create_table(
        "push_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("msgid", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=False),
        sa.Column("called_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["push_campaigns.id"],
            name=op.f("fk_push_deliveries_campaign_id_push_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_push_deliveries_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_deliveries")),
        sa.UniqueConstraint("policy_id", "policy_version", "kind", "openid", name=op.f("uq_push_deliveries_policy_id")),
    )
    with op.batch_alter_table("push_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_push_deliveries_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index(
            "ix_push_deliveries_enterprise_id_claimed_at", ["enterprise_id", "claimed_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_push_deliveries_msgid"), ["msgid"], unique=False)
        batch_op.create_index("ix_push_deliveries_openid_sent_at", ["openid", "sent_at"], unique=False)
        batch_op.create_index("ix_push_deliveries_state_id", ["state", "id"], unique=False)


def _drop_push_tables() -> None:
    with op.batch_alter_table("push_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_push_deliveries_state_id")
        batch_op.drop_index("ix_push_deliveries_openid_sent_at")
        batch_op.drop_index(batch_op.f("ix_push_deliveries_msgid"))
        batch_op.drop_index("ix_push_deliveries_enterprise_id_claimed_at")
        batch_op.drop_index(batch_op.f("ix_push_deliveries_campaign_id"))

    op.drop_table("push_deliveries")
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.drop_index("ix_redemptions_policy_id_enterprise_id")
        batch_op.drop_index(batch_op.f("ix_redemptions_enterprise_id"))

    op.drop_table("redemptions")
    with op.batch_alter_table("push_campaigns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_push_campaigns_state"))
        batch_op.drop_index(batch_op.f("ix_push_campaigns_policy_id"))

    op.drop_table("push_campaigns")
    with op.batch_alter_table("template_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_template_reports_openid"))

    op.drop_table("template_reports")
    op.drop_table("push_opt_outs")


def downgrade() -> None:
    _drop_push_tables()
    with op.batch_alter_table("enterprise_qualifications", schema=None) as batch_op:
        batch_op.drop_index("ix_enterprise_qualifications_value")
    op.drop_table("enterprise_qualifications")
    with op.batch_alter_table("enterprise_bindings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enterprise_bindings_enterprise_id"))
    op.drop_table("enterprise_bindings")
    op.drop_table("tag_terms")
    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enterprises_updated_at"))
        batch_op.drop_index(batch_op.f("ix_enterprises_street"))
        batch_op.drop_index(batch_op.f("ix_enterprises_size"))
        batch_op.drop_index(batch_op.f("ix_enterprises_industry"))
    op.drop_table("enterprises")


# -- data: as enterprises/vocabulary.py and enterprises/vocabulary.json at the time of this migration --

QUALIFICATIONS = (
    "高新技术企业", "科技型中小企业", "创新型中小企业", "专精特新", '专精特新"小巨人"', "技术先进型服务企业",
    "规上工业", "限上商贸", "规上服务业", "个体工商户", "农民专业合作社", "外贸企业",
)  # fmt: skip
STREETS = (
    "北院门街道", "青年路街道", "桃园路街道", "北关街道", "红庙坡街道", "环城西路街道", "西关街道", "土门街道", "枣园街道",
)  # fmt: skip
INDUSTRIES = (
    "农、林、牧、渔业", "采矿业", "制造业", "电力、热力、燃气及水生产和供应业", "建筑业", "批发和零售业",
    "交通运输、仓储和邮政业", "住宿和餐饮业", "信息传输、软件和信息技术服务业", "金融业", "房地产业", "租赁和商务服务业",
    "科学研究和技术服务业", "水利、环境和公共设施管理业", "居民服务、修理和其他服务业", "教育", "卫生和社会工作",
    "文化、体育和娱乐业", "公共管理、社会保障和社会组织", "国际组织",
)  # fmt: skip
ALIASES = {
    "软件和信息技术服务业": "信息传输、软件和信息技术服务业", "软件业": "信息传输、软件和信息技术服务业",
    "信息技术服务业": "信息传输、软件和信息技术服务业", "零售": "批发和零售业", "零售业": "批发和零售业",
    "批发": "批发和零售业", "批发零售": "批发和零售业", "餐饮": "住宿和餐饮业", "餐饮业": "住宿和餐饮业",
    "建筑": "建筑业", "房地产": "房地产业", "金融": "金融业", "农业": "农、林、牧、渔业", "物流业": "交通运输、仓储和邮政业",
}  # fmt: skip
SEPARATORS = re.compile(r"[、,，/|]")
LABEL = "领域"  # where a 行业 value that names no industry goes


def _pieces(value: str) -> list[str]:
    return list(dict.fromkeys(part.strip() for part in SEPARATORS.split(value) if part.strip()))


def _industries(value: str) -> tuple[list[str], list[str]]:
    """(门类 names, the pieces that name none), reading names that contain 、 whole."""
    pieces, found, rest, start = _pieces(value), [], [], 0
    while start < len(pieces):
        for end in range(len(pieces), start, -1):
            joined = "、".join(pieces[start:end])
            if joined in INDUSTRIES or joined in ALIASES:
                found.append(ALIASES.get(joined, joined))
                start = end
                break
        else:
            rest.append(pieces[start])
            start += 1
    return list(dict.fromkeys(found)), rest


def _scale(value: str) -> str:
    words = {piece.replace("型", "").replace("企业", "") for piece in _pieces(value)}
    sizes = "".join(char for char in "大中小微" if any(char in word for word in words))
    flags = [flag for flag, names in (("规上", {"规上", "规模以上"}), ("规下", {"规下", "规模以下"})) if words & names]
    return "、".join(([sizes] if sizes else []) + flags) or "不限"


def _retagged(tags: dict[str, Any]) -> dict[str, str]:
    """The tags on the vocabulary, each key where it was."""
    new: dict[str, str] = {}

    def join(key: str, values: list[str]) -> None:
        new[key] = "、".join(dict.fromkeys([*_pieces(new.get(key, "")), *values]))

    for key, value in ((str(key), str(value)) for key, value in tags.items()):
        if key == "行业":
            names, rest = _industries(value)
            if names:
                join("行业", names)
            if rest:
                join(LABEL, rest)
        elif key == "主体" and value == "个体工商户":
            join("资质", ["个体工商户"])
        elif key == "规模":
            new[key] = _scale(value)
        elif key in {"资质", LABEL}:
            join(key, _pieces(value))
        else:
            new[key] = value
    return new


def _units(key: str, value: str) -> list[str]:
    if key == "规模":
        flags = [flag for flag in ("规上", "规下") if flag in value]
        return [*(char for char in "大中小微" if char in value), *flags] or ["不限"]
    if key == "行业":
        return _industries(value)[0] or _pieces(value)
    return _pieces(value)


def _retag_policies() -> None:
    bind = op.get_bind()
    now = datetime.now(UTC)
    policies = sa.table(
        "policies", sa.column("id"), sa.column("tags", sa.JSON), sa.column("version"),
        sa.column("updated_at"), sa.column("updated_by"),
    )  # fmt: skip
    versions = sa.table(
        "policy_versions", sa.column("policy_id"), sa.column("number"), sa.column("action"),
        sa.column("changed", sa.JSON), sa.column("snapshot", sa.JSON), sa.column("author"), sa.column("note"),
        sa.column("created_at"),
    )  # fmt: skip
    tag_rows = sa.table("policy_tags", sa.column("policy_id"), sa.column("key"), sa.column("value"))
    terms = sa.table(
        "tag_terms", sa.column("key"), sa.column("value"), sa.column("created_by"), sa.column("created_at")
    )
    used: dict[str, list[str]] = {"资质": list(QUALIFICATIONS), "街道": list(STREETS)}
    for row in bind.execute(sa.select(policies)).mappings().all():
        before = {str(key): str(value) for key, value in (row["tags"] or {}).items()}
        after = _retagged(before)
        for key in used:
            used[key].extend(piece for piece in _pieces(after.get(key, "")) if piece != "不限")
        if after == before:
            continue
        number = (row["version"] or 0) + 1
        latest = bind.execute(
            sa.select(versions.c.snapshot).where(versions.c.policy_id == row["id"]).order_by(versions.c.number.desc())
        ).first()
        snapshot = {**(latest[0] if latest else {}), "tags": after}
        bind.execute(
            versions.insert().values(
                policy_id=row["id"],
                number=number,
                action="updated",
                changed=["tags"],
                snapshot=snapshot,
                author="系统升级",
                note="标签按行业、规模、资质词表规范化",
                created_at=now,
            )
        )
        bind.execute(
            policies.update()
            .where(policies.c.id == row["id"])
            .values(tags=after, version=number, updated_at=now, updated_by="系统升级")
        )
        bind.execute(tag_rows.delete().where(tag_rows.c.policy_id == row["id"]))
        pairs = {(key[:32], unit[:128]) for key, value in after.items() for unit in _units(key, value)}
        for key, value in sorted(pairs):
            bind.execute(tag_rows.insert().values(policy_id=row["id"], key=key, value=value))
    for key, values in used.items():
        for value in dict.fromkeys(value[:64] for value in values):
            bind.execute(terms.insert().values(key=key, value=value, created_by="默认", created_at=now))
