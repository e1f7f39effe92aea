"""Downloads for office software: CSV as German Excel reads it (UTF-8 BOM, `;`) and XLSX."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from flask import Response
from flask_babel import gettext as _
from sqlalchemy import select

from ..messages import status_word
from ..models import Question, Talk
from ..services import DbSession
from ..services import questions as question_service
from ..services.text import printable
from ..services.windows import BERLIN
from .words import flag_word, source_word

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cell(value: object) -> object:
    """Spreadsheets run cells that start with = + - @ as formulas: quote them. A text stored
    before the edges dropped what XML forbids loses it here."""
    if isinstance(value, str):
        value = printable(value)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def csv_response(filename: str, header: list[str], rows: Iterable[Sequence[object]]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(header)
    writer.writerows([_cell(_text(v)) for v in row] for row in rows)
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv; charset=utf-8", headers=_attachment(filename))


def _text(value: object) -> object:
    if isinstance(value, datetime):
        return value.strftime("%d.%m.%Y %H:%M")
    return value


@dataclass
class Column:
    title: str
    width: int
    wrap: bool = False


def question_table(session: DbSession, talk: Talk) -> tuple[list[Column], list[list[object]]]:
    """Every question of a talk, oldest first, with German headers and values; times in Berlin."""
    columns = [
        Column(_("Nr."), 7), Column(_("Frage"), 60, wrap=True), Column(_("Name"), 22), Column(_("Status"), 16),
        Column(_("Stimmen"), 10), Column(_("Hochstufungen"), 15), Column(_("Ursprünglicher Text"), 40, wrap=True),
        Column(_("Zusammengeführt mit Nr."), 14), Column(_("Hinweis"), 14), Column(_("Eingegangen"), 17),
        Column(_("Ans Podium"), 17), Column(_("Beantwortet"), 17), Column(_("Schlagwörter"), 24),
        Column(_("Notiz"), 40, wrap=True), Column(_("Antwort"), 60, wrap=True), Column(_("Antwort veröffentlicht"), 12),
        Column(_("Kanal"), 14),
    ]
    counts = question_service.counts(session, talk)
    rows = []
    for q in session.scalars(select(Question).where(Question.talk_id == talk.id).order_by(Question.id)):
        c = counts.get(q.id, {})
        rows.append([q.id, q.text, q.name, status_word(q.status), c.get("votes", 0), c.get("upvotes", 0),
                     q.original_text, q.merged_into_id, flag_word(q.flagged) or None,
                     _local(q.created_at), _local(q.forwarded_at), _local(q.answered_at),
                     ", ".join(label.name for label in q.labels) or None, q.note, q.answer,
                     (_("ja") if q.answer_published else _("nein")) if q.answer else None,
                     source_word(q.source, q.source_label)])
    return columns, rows


def _local(value: datetime | None) -> datetime | None:
    """Wall-clock time in Berlin without a zone: what a spreadsheet cell can hold."""
    return value.astimezone(BERLIN).replace(tzinfo=None, microsecond=0) if value else None


def xlsx_response(filename: str, sheet_title: str, columns: list[Column], rows: list[list[object]]) -> Response:
    # openpyxl takes half a second to import: every process and command would pay it for this one page
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_title[:31]
    sheet.append([c.title for c in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([printable(v) if isinstance(v, str) else v for v in row])
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = column.width
        for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text that starts with "=" stays text, never a formula
            elif isinstance(cell.value, datetime):
                cell.number_format = "DD.MM.YYYY HH:MM"
            if column.wrap:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    out = io.BytesIO()
    workbook.save(out)
    return Response(out.getvalue(), mimetype=XLSX, headers=_attachment(filename))
