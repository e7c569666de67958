"""What the subject is told, and when: the notices that writes to the store enqueue.

Run inside the writers' transactions, so each notice commits with the change it reports:
``notify_changed_records`` listens to ``records_changed`` (new negative records),
``notify_changed_entries`` to ``entries_changed`` (listings and early delistings); expiry
writes its own notices. The texts
are Chinese, as the subjects read them; references (``record:ID``, ``entry:ID``) tie a notice to
what it is about and let a job that may run twice see what was already said.
"""

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy.engine import Connection

from xinyong.enforcement.changes import EndedEntry, EntriesChanged, StartedEntry
from xinyong.enforcement.rules import EndReason, Entry
from xinyong.policy import Pack, Polarity
from xinyong.records.changes import RecordsChanged
from xinyong.rights.notices import DELISTING, EXPIRY, LISTING, RECORD, NoticeDraft, enqueue_notices

SEVERITY_ZH = {"minor": "轻微", "general": "一般", "serious": "严重", "none": "无"}
END_REASON_ZH = {
    EndReason.PERIOD: "期限届满",
    EndReason.REMOVED: "已履行义务或符合移出条件",
    EndReason.WITHDRAWN: "据以列入的决定已被撤销",
    EndReason.REPAIRED: "信用修复已完成，据以列入的记录不再公示",
    EndReason.CORRECTED: "据以列入的记录已更正，不再符合列入条件",
}
RIGHTS_ZH = "您可登录查看完整信用档案；如认为有误，可提出异议（/v1/me/objections）。"

_NEGATIVE: dict[str, frozenset[str]] = {}


def _negative_types(pack: Pack) -> frozenset[str]:
    """The pack's negative record types, found once per pack version (by digest)."""
    found = _NEGATIVE.get(pack.digest)
    if found is None:
        found = _NEGATIVE[pack.digest] = frozenset(
            code for code, kind in pack.record_types.items() if kind.polarity == Polarity.NEGATIVE
        )
    return found


def record_reference(record_id: int) -> str:
    return f"record:{record_id}"


ENTRY_PREFIX = "entry:"


def entry_reference(entry_id: int) -> str:
    return f"{ENTRY_PREFIX}{entry_id}"


def notify_changed_records(change: RecordsChanged) -> None:
    """Tell subjects of their new negative records (a listener of ``records_changed``)."""
    notify_new_records(change.session.connection(), change.pack, change.events)


def notify_changed_entries(change: EntriesChanged) -> None:
    """Tell subjects of listings and early delistings (a listener of ``entries_changed``)."""
    notify_entry_changes(
        change.connection, change.pack, change.day, started=change.started, ended=change.ended
    )


def notify_new_records(
    connection: Connection,
    pack: Pack,
    events: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
) -> int:
    """Tell each subject of every new negative record among ingest's ``(event, record)`` pairs."""
    negative = _negative_types(pack)
    drafts = [
        _record_notice(pack, record)
        for event, record in events
        if event["kind"] == "submitted" and record["record_type"] in negative
    ]
    enqueue_notices(connection, drafts)
    return len(drafts)


def _record_notice(pack: Pack, record: Mapping[str, Any]) -> NoticeDraft:
    name = pack.record_type(record["record_type"]).name.zh
    authority = pack.authorities.get(record["authority"])
    by = authority.name.zh if authority is not None else record["authority"]
    body = (
        f"{by}于{record['decided_on']}作出决定（文书号{record['document_no']}），"
        f"自{record['effective_on']}起生效，已记入您的信用档案：{name}，"
        f"严重程度：{SEVERITY_ZH.get(record['severity'], record['severity'])}。\n{RIGHTS_ZH}"
    )
    return NoticeDraft(
        record["subject_id"], RECORD, f"新增失信信息：{name}", body, record_reference(record["id"])
    )


def notify_entry_changes(
    connection: Connection,
    pack: Pack,
    day: date,
    *,
    started: Sequence[StartedEntry],
    ended: Sequence[EndedEntry],
) -> int:
    """Tell subjects of entries that start and of entries that end early.

    An entry already over by ``day`` (history loaded late) was never in force for the subject
    to be told about, neither when it starts nor when it ends.
    """
    drafts = [
        listing_notice(pack, entry_id, subject_id, entry)
        for entry_id, subject_id, entry in started
        if entry.ended_on > day
    ]
    drafts += [
        delisting_notice(
            pack, entry_id, subject_id, after.list_code, after.ended_on, after.end_reason
        )
        for entry_id, subject_id, before, after in ended
        if before.ended_on > day
    ]
    enqueue_notices(connection, drafts)
    return len(drafts)


def listing_notice(pack: Pack, entry_id: int, subject_id: int, entry: Entry) -> NoticeDraft:
    name = pack.lists[entry.list_code].name.zh
    body = (
        f"您自{entry.started_on}起被列入{name}，依据记录{entry.document_key.split('|', 2)[-1]}，"
        f"至迟于{entry.ended_on}移出。列入期间，相关惩戒措施适用于您。\n{RIGHTS_ZH}"
    )
    return NoticeDraft(subject_id, LISTING, f"列入名单：{name}", body, entry_reference(entry_id))


def delisting_notice(
    pack: Pack,
    entry_id: int,
    subject_id: int,
    list_code: str,
    ended_on: date,
    reason: EndReason,
) -> NoticeDraft:
    name = pack.lists[list_code].name.zh
    body = (
        f"您于{ended_on}移出{name}（原因：{END_REASON_ZH[reason]}）。"
        f"自该日起，该名单的惩戒措施不再适用于您。"
    )
    return NoticeDraft(subject_id, DELISTING, f"移出名单：{name}", body, entry_reference(entry_id))


def expiry_notice(pack: Pack, record: Mapping[str, Any], ended_on: date) -> NoticeDraft:
    name = pack.record_type(record["record_type"]).name.zh
    body = (
        f"记录（文书号{record['document_no']}，{name}）的最长公示期已于{ended_on}届满："
        f"该记录不再公示，也不再作为任何惩戒措施或公共信用评价的依据。"
    )
    return NoticeDraft(
        record["subject_id"], EXPIRY, f"记录期满：{name}", body, record_reference(record["id"])
    )
