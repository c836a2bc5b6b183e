"""The supervisors' overview (issue 19): each department's cases, live, on a web page.

Modules: `app.py` (wiring), `settings.py`, `login.py` (Entra ID sign-in with msal),
`sessions.py` (server-side sessions in KV), `readmodel.py` (the cases as the pages see them),
`feed.py` (KV watch, alerts, the live stream's fan-out), `web.py` (routes), `pages.py` (HTML),
`actions.py` (commands with the person's token), `reports.py`, `texts.py`, `static/`.

Stable hooks for browser tests (ids, data attributes and accessible names do not change without
changing those tests):
- start page: `ul#departments`, each link `a[data-department=<key>]`;
- department page `/d/<key>`: `section#fragment-queue` (tables `#queue`, `#unassigned`,
  `#overdue`, `#load`; an empty list is `p#<id>[data-empty]`) and `section#fragment-alerts`
  (table `#alerts`, rows `tr[data-alert-kind]`, an alert's action
  `form[data-action=retry_archive|archive_reply][data-case-id]`); a command's result `#notice`;
  each case row `tr[data-case-id=<id>]` with
  `data-status` (ny, tildelt, ferdig) and `data-overdue` when overdue; each load row
  `tr[data-staff-id]` (with `data-away` when their automatic replies are on); `#live` holds
  the live stream's address, and after a fragment is redrawn
  the document receives the event `sakspost:redrawn` (detail: the fragment's name);
- case page `/case/<id>`: `dl#case[data-case-id]`, `table#history`, `#notice` (a command's
  result), and one form per action, `form[data-action=<verb>]` (assign, done, classify,
  confirm_private, retry_archive, archive_reply) whose button is named by the action's text
  (nynorsk: "Tildel", "Merk som ferdig", "Rett klasse", "Stadfest privat", "Avvis privat",
  "Prøv arkiveringa på nytt", "Arkiver svaret"); the assignee select is labelled "Tildel til"
  (`#assign-to`), the class select "Rett klassen" (`#mail-class`); "Avvis privat" is a second
  `classify` form (to offisiell);
- reports `/reports/<key>?period=week|month`: `table#report`, `table#report-caseworkers`,
  `a#csv-link`;
- personal page `/personal`: `#personal-state[data-opted-in=true|false]`, its form
  `form[data-action=opt_in|opt_out]`;
- every page: `a.skip`, `main#main`, `form#language-form` (select `#language`),
  `form#logout-form`; a refusal page `p#message`.
"""
