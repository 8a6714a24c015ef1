"""Deterministic HTML pages for the benchmarks (same arguments, same bytes, every run).

``realistic_page`` looks like a server-rendered admin page: a full ``<head>`` (meta, link,
script, style, an inline script whose string contains ``"<form>"``), a nav with a GET search
form, a comment that mentions a form, ``forms`` POST forms each holding a table whose rows carry
``<a href="#" data-postback="delete" data-postback-argument="N">`` (``postbacks`` in total), and
filler paragraphs with inline markup and entities around the forms, up to about ``size`` bytes
(never less than the forms and head need). ``compose`` is how it is assembled: the head,
any blocks with filler paragraphs spread around them, the tail (``shapes.py`` builds its pages
with it).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

__all__ = ["HEAD", "TAIL", "WORDS", "big_page", "compose", "paragraph", "realistic_page"]

WORDS = (
    "order", "invoice", "customer", "shipping", "warehouse", "pending", "delivered", "refund",
    "payment", "ledger", "quarter", "region", "supplier", "catalogue", "discount", "tax",
    "report", "account", "balance", "archive", "review", "approve",
)

HEAD = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="description" content="Orders &amp; invoices &mdash; back office">
<title>Orders &ndash; Back office</title>
<link rel="stylesheet" href="/static/site.css?v=42">
<link rel="icon" href="/static/favicon.ico">
<script src="/static/vendor.js" defer></script>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0 auto; max-width: 70em; }
  table.grid td, table.grid th { padding: .2em .6em; border-bottom: 1px solid #ddd; }
  a[data-postback] { color: #a00; }
</style>
<script>
  // A string that looks like markup must not be taken for a form.
  var template = "<form method='post'>" + "<input name=q></form>";
  window.analytics = { page: "orders", t: Date.now() };
  if (1 < 2 && document) { console.log("</div> is not the end of this script"); }
</script>
</head>
<body class="admin">
<!-- navigation: the <form method="post"> in this comment is not a form -->
<nav>
  <ul>
    <li><a href="/">Home</a></li>
    <li><a href="/orders" class="active">Orders</a></li>
    <li><a href="/invoices?status=open&amp;page=1">Invoices</a></li>
    <li><a href="/reports">Reports &raquo;</a></li>
  </ul>
  <form method="get" action="/search" role="search">
    <input type="search" name="q" placeholder="Search&hellip;"> <button>Go</button>
  </form>
</nav>
<main>
<h1>Orders</h1>
"""

TAIL = """</main>
<footer><p>&copy; 2024 Example Ltd. &middot; <a href="/privacy">Privacy</a></p></footer>
</body>
</html>
"""


def _row(n: int) -> str:
    cents = (n * 7919) % 100_000
    return (
        f"<tr><td>{n}</td><td>&euro;&nbsp;{cents // 100}.{cents % 100:02d}</td>"
        f'<td><a href="#" data-postback="delete" data-postback-argument="{n}">Delete</a></td>'
        "</tr>\n"
    )


def _form(index: int, first_row: int, rows: int) -> str:
    body = "".join(_row(n) for n in range(first_row, first_row + rows))
    sort = (
        '<select name="sort" data-autopostback><option value="date">Date</option>'
        '<option value="total" selected>Total</option></select>\n'
        if index == 0
        else ""
    )
    return (
        f'<section id="batch-{index}">\n<h2>Batch {index + 1}</h2>\n'
        f'<form method="post" action="/orders?batch={index}" class="grid-form">\n{sort}'
        '<table class="grid">\n<thead><tr><th>Order</th><th>Total</th>'
        "<th></th></tr></thead>\n<tbody>\n"
        f"{body}</tbody>\n</table>\n"
        '<p><label>Note <input type="text" name="note" value="a &quot;quoted&quot; note">'
        '</label> <button type="submit" name="save" value="1">Save</button></p>\n'
        "</form>\n</section>\n"
    )


def paragraph(rng: random.Random, n: int) -> str:
    """A filler paragraph of 30 to 60 words with inline markup and entities."""
    words = [rng.choice(WORDS) for _ in range(rng.randint(30, 60))]
    words[3] = f"<b>{words[3]}</b>"
    words[9] = f'<a href="/docs/{n}?ref=p&amp;x=1">{words[9]}</a>'
    words[15] = f"<em>{words[15]}</em> &amp;"
    words[21] = f'<span class="tag">{words[21]}</span> &ndash;'
    words[27] = f"<code>{words[27]}&lt;T&gt;</code>"
    return f"<p>{' '.join(words).capitalize()}.</p>\n"


def compose(blocks: Sequence[str], size: int, *, head: str = HEAD, tail: str = TAIL,
            seed: int = 20240601) -> bytes:
    """``head``, the ``blocks`` with filler paragraphs (:func:`paragraph`) spread evenly
    before, between and after them, and ``tail``: about ``size`` bytes of UTF-8 (never less
    than the blocks need). The same arguments give the same bytes."""
    fixed = len(head) + len(tail) + sum(len(text) for text in blocks)
    rng = random.Random(seed)
    slots: list[list[str]] = [[] for _ in range(len(blocks) + 1)]
    filled = 0
    n = 0
    while fixed + filled < size:
        text = paragraph(rng, n)
        slots[min(filled * (len(blocks) + 1) // max(size - fixed, 1), len(blocks))].append(text)
        filled += len(text)
        n += 1
    parts = [head, *slots[0]]
    for index, text in enumerate(blocks):
        parts.append(text)
        parts.extend(slots[index + 1])
    parts.append(tail)
    return "".join(parts).encode("utf-8")


def realistic_page(size: int = 80_000, forms: int = 3, postbacks: int = 400) -> bytes:
    """A realistic HTML page of about ``size`` bytes (UTF-8) with ``forms`` POST forms."""
    per_form, extra = divmod(postbacks, forms)
    form_html = []
    first = 1
    for index in range(forms):
        rows = per_form + (index < extra)
        form_html.append(_form(index, first, rows))
        first += rows
    return compose(form_html, size)


def big_page(size: int = 10 * 2**20) -> bytes:
    """A large page for memory tests: the realistic page scaled up (24 forms spread over it)."""
    return realistic_page(size, forms=24, postbacks=4800)


if __name__ == "__main__":
    for page in (realistic_page(), big_page()):
        postbacks = page.count(b"data-postback=")
        forms = page.count(b'<form method="post" action')
        print(f"{len(page):>10,} bytes, {postbacks} data-postback, {forms} post forms")
