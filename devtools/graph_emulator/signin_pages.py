"""The HTML of the emulator's sign-in pages, in nynorsk: the account picker (the organisation's
staff, one button each, and a field for another address), the device-code entry, and the
messages that end a flow.

Plain forms that work without script: every control has a visible label, the buttons are reached
with Tab and pressed with Enter or Space, and the focus ring stays visible. Every value shown is
escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from devtools.graph_emulator.people import Person

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; background: #f3f3f3; color: #1b1b1b; }
main { max-width: 32rem; margin: 2rem auto; background: #fff; padding: 1.5rem; }
h1 { font-size: 1.5rem; }
ul { list-style: none; padding: 0; }
li { margin: 0.25rem 0; }
button { width: 100%; text-align: left; font: inherit; padding: 0.6rem; border: 1px solid #605e5c;
  background: #fff; color: #1b1b1b; cursor: pointer; }
button.primary { background: #0067b8; color: #fff; text-align: center; }
button:focus, input:focus { outline: 3px solid #1b1b1b; outline-offset: 2px; }
input { font: inherit; padding: 0.5rem; width: 100%; box-sizing: border-box; }
.address { color: #4a4a4a; }
.error { color: #a4262c; }
"""


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="nn"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )


def _hidden(fields: Mapping[str, str]) -> str:
    return "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in fields.items()
    )


def picker_page(
    action: str, fields: Mapping[str, str], people: Sequence[Person], *, can_decline: bool
) -> str:
    """Choose who signs in: `fields` go back with the choice (`email`), posted to `action`."""
    buttons = "".join(
        f'<li><button type="submit" name="email" value="{escape(person.email)}">'
        f'{escape(person.name)} <span class="address">&lt;{escape(person.email)}&gt;</span>'
        "</button></li>"
        for person in people
    )
    decline = (
        f'<form method="post" action="{escape(action)}">{_hidden(fields)}'
        '<button type="submit" name="decline" value="1">Avvis innlogginga</button></form>'
        if can_decline
        else ""
    )
    body = (
        "<p>Vel kven du loggar inn som (Graph-emulatoren speler Entra ID).</p>"
        f'<form method="post" action="{escape(action)}">{_hidden(fields)}'
        f'<ul aria-label="Tilsette">{buttons}</ul></form>'
        f'<form method="post" action="{escape(action)}">{_hidden(fields)}'
        '<p><label for="other">Anna adresse</label>'
        '<input id="other" name="email" type="email" autocomplete="off" required></p>'
        '<p><button class="primary" type="submit">Logg inn med denne adressa</button></p></form>'
        f"{decline}"
    )
    return _page("Logg inn", body)


def device_code_page(error: str | None = None) -> str:
    """Where a person types the code their command line showed."""
    message = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = (
        f"{message}<p>Skriv inn koden som kommandolinja viser.</p>"
        '<form method="get" action="/device"><p><label for="user_code">Kode</label>'
        '<input id="user_code" name="user_code" autocomplete="off" autocapitalize="characters" '
        'required></p><p><button class="primary" type="submit">Neste</button></p></form>'
    )
    return _page("Skriv inn koden", body)


def message_page(title: str, message: str) -> str:
    """The end of a flow, or why it cannot go on."""
    return _page(title, f"<p>{escape(message)}</p>")
