"""The overview's HTML, drawn on the server (pure: data in, markup out).

Everything taken from a case, an alert or a person is escaped here (`_e`); the texts are the
overview's own (`texts.py`). The markup is semantic (landmarks, one h1, tables with captions and
`th scope`, labelled controls, a skip link) and works without JavaScript; `overview.js` only
redraws a fragment when the live stream says so.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from schemas.commands import Verb
from schemas.events import Alert
from schemas.vocab import AlertKind, MailClass
from services.common.actors import Actor
from services.common.language import LANGUAGES, Language
from services.common.orgconfig import Organisation
from services.overview.actions import ALERT_VERBS
from services.overview.readmodel import CaseView, Lists, Load, sender_kind, shows_subject
from services.overview.reports import Period, Report
from services.overview.texts import LANGUAGE_NAMES, history_word, say


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


@dataclass(frozen=True)
class Viewer:
    """Who a page is drawn for, in which language, with the CSRF token of its forms."""

    actor: Actor
    language: Language
    csrf: str
    org: Organisation

    def t(self, key: str, **values: object) -> str:
        return _e(say(self.language, key, **values))

    def when(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        local = moment.astimezone(ZoneInfo(self.org.timezone))
        return f'<time datetime="{_e(moment.isoformat())}">{local:%Y-%m-%d %H:%M}</time>'

    def staff_name(self, staff_id: str | None) -> str:
        if staff_id is None:
            return self.t("nobody")
        try:
            return _e(self.org.staff_member(staff_id).name)
        except KeyError:
            return _e(staff_id)

    def department_name(self, key: str) -> str:
        found = self.org.departments.get(key)
        return _e(found.name if found is not None else key)


def csrf_field(viewer: Viewer) -> str:
    return f'<input type="hidden" name="csrf" value="{_e(viewer.csrf)}">'


def layout(viewer: Viewer | None, language: Language, title: str, body: str) -> str:
    """A whole page: skip link, header with navigation, `main`, and the language selector."""

    def t(key: str, **values: object) -> str:
        return _e(say(language, key, **values))

    nav = ""
    if viewer is not None:
        options = "".join(
            f'<option value="{code}"{" selected" if code == language else ""}>'
            f"{_e(LANGUAGE_NAMES[code])}</option>"
            for code in LANGUAGES
        )
        nav = (
            f'<nav aria-label="{t("nav")}"><ul>'
            f'<li><a href="/">{t("start")}</a></li>'
            f'<li><a href="/personal">{t("personal")}</a></li>'
            f"</ul></nav>"
            f'<p class="who">{t("signed_in_as", name=viewer.actor.name)}</p>'
            f'<form method="post" action="/language" class="inline" id="language-form">'
            f"{csrf_field(viewer)}"
            f'<label for="language">{t("language")}</label> '
            f'<select id="language" name="language">{options}</select> '
            f'<button type="submit">{t("choose")}</button></form>'
            f'<form method="post" action="/logout" class="inline" id="logout-form">'
            f'{csrf_field(viewer)}<button type="submit">{t("logout")}</button></form>'
        )
    return (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)} · Sakspost</title>"
        f'<link rel="stylesheet" href="/static/overview.css">'
        f'<script src="/static/overview.js" defer></script></head><body>'
        f'<a class="skip" href="#main">{t("skip")}</a>'
        f'<header><p class="brand">{t("app")}</p>{nav}</header>'
        f'<main id="main" tabindex="-1"><h1>{_e(title)}</h1>{body}</main></body></html>'
    )


def message_page(viewer: Viewer | None, language: Language, title: str, text: str) -> str:
    return layout(viewer, language, title, f'<p id="message">{_e(text)}</p>')


def start_page(viewer: Viewer, departments: Sequence[tuple[str, bool]]) -> str:
    """The departments the person may see; `True` where they supervise (all cases)."""
    if not departments:
        body = f"<p>{viewer.t('no_departments')}</p>"
    else:
        items = "".join(
            f'<li><a href="/d/{quote(key)}" data-department="{_e(key)}">'
            f"{viewer.department_name(key)}</a> "
            f"({viewer.t('supervisor') if supervised else viewer.t('own_cases')})</li>"
            for key, supervised in departments
        )
        body = f'<ul id="departments">{items}</ul>'
    return layout(viewer, viewer.language, say(viewer.language, "departments"), body)


def _class_cell(viewer: Viewer, case: CaseView) -> str:
    if case.mail_class is None:
        return ""
    reasons = "; ".join(case.reasons())
    title = f' title="{_e(reasons)}"' if reasons else ""
    return f"<span{title}>{viewer.t(case.mail_class.value)}</span>"


def _subject(viewer: Viewer, case: CaseView) -> str:
    if shows_subject(viewer.actor, case):
        return _e(case.subject) or "—"
    return f'<em class="hidden-subject">{viewer.t("hidden_subject")}</em>'


def case_rows(viewer: Viewer, cases: Iterable[CaseView], now: datetime) -> str:
    rows = []
    for case in cases:
        overdue = case.overdue(now)
        mark = f' <strong class="overdue">{viewer.t("overdue_mark")}</strong>' if overdue else ""
        rows.append(
            f'<tr data-case-id="{_e(case.case_id)}" data-status="{case.status.value}"'
            f"{' data-overdue' if overdue else ''}>"
            f'<th scope="row"><a href="/case/{quote(case.case_id)}">{_subject(viewer, case)}'
            f"</a></th>"
            f"<td>{viewer.t('kind_' + sender_kind(viewer.org, case))}</td>"
            f"<td>{_class_cell(viewer, case)}</td>"
            f"<td>{viewer.t(case.status.value)}</td>"
            f"<td>{viewer.staff_name(case.assignee)}</td>"
            f"<td>{viewer.when(case.due_at)}{mark}</td></tr>"
        )
    return "".join(rows)


def case_table(
    viewer: Viewer, table_id: str, caption: str, cases: list[CaseView], now: datetime
) -> str:
    if not cases:
        return f'<p id="{table_id}" data-empty>{viewer.t("no_cases")}</p>'
    head = "".join(
        f'<th scope="col">{viewer.t(key)}</th>'
        for key in ("subject", "sender", "class", "status", "assignee", "due")
    )
    return (
        f'<div class="scroll"><table id="{table_id}"><caption>{_e(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{case_rows(viewer, cases, now)}</tbody>"
        f"</table></div>"
    )


def _presence(viewer: Viewer, row: Load) -> str:
    if row.away is None:
        return "–"
    return viewer.t("away") if row.away else viewer.t("present")


def load_table(viewer: Viewer, load: Sequence[Load]) -> str:
    rows = "".join(
        f'<tr data-staff-id="{_e(row.staff_id)}"{" data-away" if row.away else ""}>'
        f'<th scope="row">{_e(row.name)}</th>'
        f"<td>{row.open_cases}</td><td>{row.capacity:g}</td><td>{_presence(viewer, row)}</td></tr>"
        for row in load
    )
    return (
        f'<div class="scroll"><table id="load"><caption>{viewer.t("load_caption")}</caption>'
        f'<thead><tr><th scope="col">{viewer.t("caseworker")}</th>'
        f'<th scope="col">{viewer.t("open")}</th><th scope="col">{viewer.t("capacity")}</th>'
        f'<th scope="col">{viewer.t("presence")}</th>'
        f"</tr></thead><tbody>{rows}</tbody></table></div>"
    )


def queue_fragment(
    viewer: Viewer, department: str, lists: Lists, load: Sequence[Load] | None, now: datetime
) -> str:
    """The department's cases (and, for its supervisors, each caseworker's load)."""
    name = say(viewer.language, "queue_caption", department=viewer.org.departments[department].name)
    parts = [
        f'<h2 id="queue-heading">{viewer.t("queue")}</h2>',
        case_table(viewer, "queue", name, lists.queue, now),
        f'<h2 id="unassigned-heading">{viewer.t("unassigned")}</h2>',
        case_table(viewer, "unassigned", say(viewer.language, "unassigned"), lists.unassigned, now),
        f'<h2 id="overdue-heading">{viewer.t("overdue")}</h2>',
        case_table(viewer, "overdue", say(viewer.language, "overdue"), lists.overdue, now),
    ]
    if load is not None:
        parts += [f'<h2 id="load-heading">{viewer.t("load")}</h2>', load_table(viewer, load)]
    return f'<section id="fragment-queue" data-fragment="queue">{"".join(parts)}</section>'


def _alert_action(
    viewer: Viewer, department: str, alert: Alert, verbs: frozenset[Verb], rid: str
) -> str:
    verb = ALERT_VERBS.get(alert.kind)
    case_id = alert.case_id or next(iter(alert.case_ids), None)
    if verb is None or verb not in verbs or case_id is None:
        return ""
    return (
        f'<form method="post" action="/d/{quote(department)}/alert/{verb.value}" '
        f'data-action="{verb.value}" data-case-id="{_e(case_id)}" class="action">'
        f'{csrf_field(viewer)}<input type="hidden" name="request_id" value="{_e(rid)}">'
        f'<input type="hidden" name="case_id" value="{_e(case_id)}">'
        f'<button type="submit">{viewer.t(verb.value)}</button></form>'
    )


def alerts_fragment(
    viewer: Viewer,
    department: str,
    alerts: Sequence[Alert],
    verbs: frozenset[Verb],
    request_id: Callable[[], str],
) -> str:
    """The department's latest alerts; archive refusals and replies sent from Outlook with the
    action that settles them, for those who may take it."""
    if not alerts:
        inner = f"<p>{viewer.t('no_alerts')}</p>"
    else:
        caption = viewer.t("alerts_caption", department=viewer.org.departments[department].name)
        rows = "".join(
            f'<tr data-alert-kind="{_e(a.kind.value)}"'
            f"{' class=archive-failed' if a.kind is AlertKind.ARCHIVE_FAILED else ''}>"
            f"<td>{viewer.when(a.occurred_at)}</td><td>{_e(a.kind.value)}</td>"
            f"<td>{_e(a.summary)}</td><td>{_case_links(a.case_ids)}</td>"
            f"<td>{_alert_action(viewer, department, a, verbs, request_id())}</td></tr>"
            for a in alerts
        )
        inner = (
            f'<div class="scroll"><table id="alerts"><caption>{caption}</caption><thead><tr>'
            f'<th scope="col">{viewer.t("when")}</th><th scope="col">{viewer.t("what")}</th>'
            f'<th scope="col">{viewer.t("why")}</th><th scope="col">{viewer.t("case")}</th>'
            f'<th scope="col">{viewer.t("actions")}</th>'
            f"</tr></thead><tbody>{rows}</tbody></table></div>"
        )
    return (
        f'<section id="fragment-alerts" data-fragment="alerts">'
        f'<h2 id="alerts-heading">{viewer.t("alerts")}</h2>{inner}</section>'
    )


def _case_links(case_ids: Sequence[str]) -> str:
    return " ".join(f'<a href="/case/{quote(c)}">{_e(c[:8])}</a>' for c in case_ids[:5])


def department_page(
    viewer: Viewer,
    department: str,
    queue: str,
    alerts: str | None,
    reports: bool,
    notice: str | None,
) -> str:
    links = (
        f'<p><a href="/reports/{quote(department)}" id="reports-link">{viewer.t("reports")}</a></p>'
        if reports
        else ""
    )
    live = (
        f'<div data-live="/live/{quote(department)}" '
        f'data-fragments="/d/{quote(department)}/fragment/" id="live" '
        f'data-live-off="{viewer.t("live_off")}" aria-live="polite"></div>'
    )
    notice_html = f'<p id="notice" role="status">{_e(notice)}</p>' if notice else ""
    body = f"{notice_html}{links}{live}{queue}{alerts or ''}"
    return layout(viewer, viewer.language, viewer.org.departments[department].name, body)


@dataclass(frozen=True)
class CaseActions:
    """Which forms the case page shows, decided by `rights.may` for the viewer."""

    verbs: frozenset[Verb]
    members: Sequence[tuple[str, str]]
    request_id: Callable[[], str]
    alerted: frozenset[AlertKind] = frozenset()


def _form(viewer: Viewer, case: CaseView, verb: Verb, fields: str, label: str, rid: str) -> str:
    return (
        f'<form method="post" action="/case/{quote(case.case_id)}/{verb.value}" '
        f'data-action="{verb.value}" class="action">{csrf_field(viewer)}'
        f'<input type="hidden" name="request_id" value="{_e(rid)}">{fields}'
        f'<button type="submit">{_e(label)}</button></form>'
    )


def action_forms(viewer: Viewer, case: CaseView, actions: CaseActions) -> str:
    forms = []

    def say_(key: str) -> str:
        return say(viewer.language, key)

    if Verb.ASSIGN in actions.verbs and actions.members:
        options = "".join(
            f'<option value="{_e(sid)}"{" selected" if sid == case.assignee else ""}>'
            f"{_e(name)}</option>"
            for sid, name in actions.members
        )
        field = (
            f'<label for="assign-to">{viewer.t("assign_to")}</label> '
            f'<select id="assign-to" name="to">{options}</select> '
        )
        forms.append(_form(viewer, case, Verb.ASSIGN, field, say_("assign"), actions.request_id()))
    if Verb.DONE in actions.verbs and case.is_open:
        forms.append(_form(viewer, case, Verb.DONE, "", say_("done"), actions.request_id()))
    if Verb.CLASSIFY in actions.verbs:
        options = "".join(
            f'<option value="{c.value}"{" selected" if c is case.mail_class else ""}>'
            f"{viewer.t(c.value)}</option>"
            for c in MailClass
        )
        field = (
            f'<label for="mail-class">{viewer.t("correct_class")}</label> '
            f'<select id="mail-class" name="mail_class">{options}</select> '
        )
        forms.append(
            _form(viewer, case, Verb.CLASSIFY, field, say_("classify"), actions.request_id())
        )
    awaiting_private = AlertKind.CONFIRM_PRIVATE in actions.alerted
    if Verb.CONFIRM_PRIVATE in actions.verbs and awaiting_private:
        forms.append(
            _form(
                viewer,
                case,
                Verb.CONFIRM_PRIVATE,
                "",
                say_("confirm_private"),
                actions.request_id(),
            )
        )
        # Rejecting the verdict is correcting the class away from privat.
        field = '<input type="hidden" name="mail_class" value="offisiell">'
        forms.append(
            _form(viewer, case, Verb.CLASSIFY, field, say_("reject_private"), actions.request_id())
        )
    if Verb.RETRY_ARCHIVE in actions.verbs and AlertKind.ARCHIVE_FAILED in actions.alerted:
        forms.append(
            _form(viewer, case, Verb.RETRY_ARCHIVE, "", say_("retry_archive"), actions.request_id())
        )
    if Verb.ARCHIVE_REPLY in actions.verbs and (AlertKind.REPLY_NOT_FROM_WEBSAK in actions.alerted):
        forms.append(
            _form(viewer, case, Verb.ARCHIVE_REPLY, "", say_("archive_reply"), actions.request_id())
        )
    return "".join(forms)


def case_page(
    viewer: Viewer, case: CaseView, actions: CaseActions, now: datetime, notice: str | None
) -> str:
    facts = [
        ("subject", _subject(viewer, case)),
        ("sender", viewer.t("kind_" + sender_kind(viewer.org, case))),
        ("class", _class_cell(viewer, case)),
        ("reasons", _e("; ".join(case.reasons()))),
        ("status", viewer.t(case.status.value)),
        ("assignee", viewer.staff_name(case.assignee)),
        ("received", viewer.when(case.received_at)),
        (
            "due",
            viewer.when(case.due_at)
            + (
                f' <strong class="overdue">{viewer.t("overdue_mark")}</strong>'
                if case.overdue(now)
                else ""
            ),
        ),
        ("registry_number", _e(case.registry_number or "")),
    ]
    if case.sensitive:
        facts.append(("sensitive", _e(", ".join(k.value for k in case.sensitive))))
    items = "".join(f"<dt>{viewer.t(key)}</dt><dd>{value}</dd>" for key, value in facts)
    history = "".join(
        f"<tr><td>{viewer.when(h.at)}</td><td>{_who(viewer, h.who)}</td>"
        f"<td>{_e(history_word(viewer.language, h.what))}</td><td>{_e(h.why)}</td></tr>"
        for h in case.history
    )
    notice_html = f'<p id="notice" role="status">{_e(notice)}</p>' if notice else ""
    forms = action_forms(viewer, case, actions)
    body = (
        f"{notice_html}"
        f'<p><a href="/d/{quote(case.department)}">{viewer.department_name(case.department)}'
        f"</a></p>"
        f'<dl id="case" data-case-id="{_e(case.case_id)}">{items}</dl>'
        + (
            f'<h2 id="actions-heading">{viewer.t("actions")}</h2><div id="actions">{forms}</div>'
            if forms
            else ""
        )
        + f'<h2 id="history-heading">{viewer.t("history")}</h2>'
        f'<div class="scroll"><table id="history"><caption>{viewer.t("history_caption")}</caption>'
        f'<thead><tr><th scope="col">{viewer.t("when")}</th><th scope="col">{viewer.t("who")}'
        f'</th><th scope="col">{viewer.t("what")}</th><th scope="col">{viewer.t("why")}</th>'
        f"</tr></thead><tbody>{history}</tbody></table></div>"
    )
    title = f"{say(viewer.language, 'case')} {case.case_id[:8]}"
    return layout(viewer, viewer.language, title, body)


def _who(viewer: Viewer, who: str) -> str:
    """A staff member by name; a system (sakspost, outlook, websak) as it is recorded."""
    if any(member.id == who for member in viewer.org.staff):
        return viewer.staff_name(who)
    return _e(who)


def _hours(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def report_rows(viewer: Viewer, report: Report) -> list[tuple[str, str]]:
    """The report's measures as (label, value), in the viewer's language: page and CSV."""
    rows = [(say(viewer.language, "received_count"), str(report.received))]
    rows += [
        (f"{say(viewer.language, 'received_count')}: {say(viewer.language, k)}", str(v))
        for k, v in report.by_class.items()
    ]
    rows += [
        (say(viewer.language, "archived"), str(report.archived)),
        (say(viewer.language, "median_assign"), _hours(report.median_assign_hours)),
        (say(viewer.language, "p90_assign"), _hours(report.p90_assign_hours)),
        (say(viewer.language, "median_done"), _hours(report.median_done_hours)),
        (say(viewer.language, "p90_done"), _hours(report.p90_done_hours)),
        (say(viewer.language, "overdue_count"), str(report.overdue)),
    ]
    return rows


def report_page(viewer: Viewer, department: str, period: Period, report: Report) -> str:
    options = "".join(
        f'<option value="{p.value}"{" selected" if p is period else ""}>{viewer.t(p.value)}'
        f"</option>"
        for p in Period
    )
    chooser = (
        f'<form method="get" action="/reports/{quote(department)}" id="period-form">'
        f'<label for="period">{viewer.t("period")}</label> '
        f'<select id="period" name="period">{options}</select> '
        f'<button type="submit">{viewer.t("show")}</button></form>'
        f'<p><a id="csv-link" href="/reports/{quote(department)}/csv?period={period.value}">'
        f"{viewer.t('download_csv')}</a></p>"
    )
    caption = viewer.t(
        "report_caption",
        start=f"{report.span.start:%Y-%m-%d}",
        end=f"{report.span.end:%Y-%m-%d}",
    )
    measures = "".join(
        f'<tr><th scope="row">{_e(label)}</th><td>{_e(value)}</td></tr>'
        for label, value in report_rows(viewer, report)
    )
    people = "".join(
        f'<tr data-staff-id="{_e(row.staff_id)}"><th scope="row">'
        f"{viewer.staff_name(row.staff_id)}</th><td>{row.assigned}</td><td>{row.done}</td>"
        f"<td>{_hours(row.median_done_hours)}</td></tr>"
        for row in report.caseworkers
    )
    body = (
        f"{chooser}"
        f'<div class="scroll"><table id="report"><caption>{caption}</caption><thead><tr>'
        f'<th scope="col">{viewer.t("measure")}</th><th scope="col">{viewer.t("value")}</th>'
        f"</tr></thead><tbody>{measures}</tbody></table></div>"
        f'<h2 id="per-caseworker">{viewer.t("per_caseworker")}</h2>'
        f'<div class="scroll"><table id="report-caseworkers">'
        f"<caption>{viewer.t('per_caseworker')}</caption><thead><tr>"
        f'<th scope="col">{viewer.t("caseworker")}</th>'
        f'<th scope="col">{viewer.t("assigned_count")}</th>'
        f'<th scope="col">{viewer.t("done_count")}</th>'
        f'<th scope="col">{viewer.t("median_done")}</th></tr></thead><tbody>{people}</tbody>'
        f"</table></div>"
    )
    title = say(viewer.language, "report_title", department=viewer.org.departments[department].name)
    return layout(viewer, viewer.language, title, body)


def personal_page(viewer: Viewer, opted_in: bool, notice: str | None, request_id: str) -> str:
    state = viewer.t("personal_on" if opted_in else "personal_off")
    verb = "opt_out" if opted_in else "opt_in"
    notice_html = f'<p id="notice" role="status">{_e(notice)}</p>' if notice else ""
    body = (
        f"{notice_html}<p>{viewer.t('personal_intro')}</p>"
        f'<p id="personal-state" data-opted-in="{"true" if opted_in else "false"}">{state}</p>'
        f'<form method="post" action="/personal" data-action="{verb}">{csrf_field(viewer)}'
        f'<input type="hidden" name="request_id" value="{_e(request_id)}">'
        f'<input type="hidden" name="opted_in" value="{"false" if opted_in else "true"}">'
        f'<button type="submit">{viewer.t(verb)}</button></form>'
    )
    return layout(viewer, viewer.language, say(viewer.language, "personal_title"), body)
