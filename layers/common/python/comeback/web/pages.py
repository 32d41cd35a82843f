"""Small HTML pages shown to people who follow links in our messages. Every value escaped."""

from __future__ import annotations

import html

_FRAME = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font-family:Arial,sans-serif;max-width:480px;margin:3em auto;padding:0 1em}}
button{{font-size:1em;padding:.6em 1.2em}}</style></head><body>
<h1>{title}</h1>{body}</body></html>"""


def _page(title: str, body: str) -> str:
    return _FRAME.format(title=html.escape(title), body=body)


def confirm_unsubscribe(token: str) -> str:
    return _page(
        "Unsubscribe",
        (
            "<p>Do you want to stop receiving these emails?</p>"
            '<form method="post" action="">'
            f'<input type="hidden" name="t" value="{html.escape(token, quote=True)}">'
            '<button type="submit">Unsubscribe</button></form>'
        ),
    )


def unsubscribed() -> str:
    return _page("You are unsubscribed", "<p>You will not get these emails any more.</p>")


def problem(message: str) -> str:
    return _page("Sorry", f"<p>{html.escape(message)}</p>")
