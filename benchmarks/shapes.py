"""Per-GET cost of the middleware on a family of page shapes, against the two yardsticks.

Run: ``.venv/bin/python benchmarks/shapes.py`` (about 35 s on 2 cores; ``--quick`` for a
rough look in about a quarter of that, ``--only NAME ...`` for some shapes, by substring).

Issue #18, point 1. Every page is generated here, deterministically (same bytes every run),
from the pieces of ``pages.py`` (its head, tail and filler paragraphs), about 80 KB unless said:

- ``realistic``: the page of ``speed.py`` (3 post forms, 400 ``data-postback="delete"``);
- ``target-per-row``: a distinct target per row, ``data-postback="row17"
  data-postback-argument="delete:17"``, 400 rows (800 postback attributes) in 4 forms;
- ``gridview-data``: one target, many arguments: a GridView's ``Edit$N`` / ``Delete$N`` /
  ``Select$N`` as ``data-postback="GridView1"`` links, 235 rows, one form;
- ``gridview-aspnet``: the same grid as ASP.NET renders it, ``href="javascript:__doPostBack(
  &#39;GridView1&#39;,&#39;Delete$17&#39;)"`` (HtmlAttributeEncoded, tabs and CR LF), one
  WebForms form;
- ``form-per-row``: an admin list page, 150 rows each with its own small post form (a delete
  button posting to ``/admin/users/N/delete/``), 44 KB;
- ``form-per-row-paged``: the same list paged through, a request a page (20 pages of 150
  users, the 21st request the first page again): 3,000 actions, more than the middleware
  keeps resolved (its memo of 1,024), so every form's action is new to it;
- ``long-values``: long attribute values (2-4 KB ``data-props`` JSON, ``srcset``, ``style``,
  SVG paths, 600-byte postback arguments) and big inline ``<script>`` / ``<style>`` blocks,
  with 3 post forms and 120 postbacks;
- ``many-small-forms``: a discussion page, 100 small post forms (vote buttons with a
  ``data-postback``, a reply box) spread between the paragraphs;
- ``blog-no-post``: a blog post with no post form at all (a GET search form, scripts,
  JSON-LD, a code block, comments);
- ``realistic-1mb``: the realistic page at 1 MiB (12 post forms, 5,000 postbacks).

Each is handed over **buffered** (``[page]``), as a one-piece **iterable** (a generator, as
Flask and Django hand over a rendered page) and **streamed** (8 KB pieces from a generator),
through the public WSGI interface only (``harness.py``). The *added cost* is the wrapped app
minus the bare app, per call; the yardsticks are one ``findall`` of ``harness.FORM_TAG`` over
the page's bytes and one ``html.parser.HTMLParser().feed`` of its text. Time is CPU time, the
fastest of interleaved rounds (``harness.measure``: every shape and mode in one interleaved
set, so a burst of load on a busy machine hits all alike).

Targets (issue #18), reported ``PASS`` / ``MISS``, never enforced (exit status 0): added cost
at most 5x the regex and at least 50x below html.parser on every shape and mode; the page
without a post form at most 1.5x the regex; streamed within 10 % of buffered. Shapes are
sorted so that the worst (the highest fraction of any of its targets) comes last.
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from harness import FORM_TAG, MODES, Thunk, check_rewritten, consume, machine, measure, parse, wrap
from pages import HEAD, WORDS, compose, realistic_page

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

REGEX_TARGET = 5.0  # added / regex: at most
PARSER_TARGET = 50.0  # html.parser / added: at least
NO_FORM_TARGET = 1.5  # added / regex on the page without a post form: at most
STREAM_TARGET = 1.10  # streamed added / buffered added: at most
SIZE = 80_000

_NAMES = ("Ada Lovelace", "Grace Hopper", "Alan Turing", "Edsger Dijkstra", "Barbara Liskov",
          "Donald Knuth", "Frances Allen", "Ken Thompson", "Margaret Hamilton", "John Backus")
_CITIES = ("London", "Arlington", "Manchester", "Rotterdam", "Boston", "Stanford", "Peru",
           "New Orleans", "Paoli", "Philadelphia")


def _money(n: int) -> str:
    cents = (n * 7919) % 100_000
    return f"&euro;&nbsp;{cents // 100:,}.{cents % 100:02d}"


def _words(n: int, count: int) -> str:
    return " ".join(WORDS[(n * 7 + i * 3) % len(WORDS)] for i in range(count))


def _grid_form(index: int, rows: str, *, action: str, head_cells: str) -> str:
    return (
        f'<section id="batch-{index}">\n<h2>Batch {index + 1}</h2>\n'
        f'<form method="post" action="{action}" class="grid-form">\n'
        f'<table class="grid">\n<thead><tr>{head_cells}</tr></thead>\n<tbody>\n{rows}'
        "</tbody>\n</table>\n"
        '<p><button type="submit" name="save" value="1">Save</button></p>\n</form>\n</section>\n'
    )


# -- the shapes ----------------------------------------------------------------------------


def target_per_row(size: int = SIZE, forms: int = 4, rows: int = 400) -> bytes:
    """A distinct target per row: ``data-postback="row17" data-postback-argument="delete:17"``."""
    per_form = rows // forms
    blocks = []
    for index in range(forms):
        body = "".join(
            f'<tr id="r{n}"><td>{n}</td><td>{_NAMES[n % 10]}</td><td>{_money(n)}</td>'
            f'<td><a href="#" data-postback="row{n}" data-postback-argument="delete:{n}">'
            "Delete</a></td></tr>\n"
            for n in range(index * per_form + 1, (index + 1) * per_form + 1)
        )
        blocks.append(_grid_form(index, body, action=f"/orders?batch={index}",
                                 head_cells="<th>#</th><th>Customer</th><th>Total</th><th></th>"))
    return compose(blocks, size)


_GRID_COMMANDS = ("Edit", "Delete", "Select")


def _aspnet_command(target: str, argument: str, text: str) -> str:
    # What LinkButton renders for a data control's command (see tests/aspnet_pages.py).
    return (f'<a href="javascript:__doPostBack(&#39;{target}&#39;,&#39;{argument}&#39;)">'
            f"{text}</a>")


def _data_command(target: str, argument: str, text: str) -> str:
    return (f'<a href="#" data-postback="{target}" data-postback-argument="{argument}">'
            f"{text}</a>")


def _gridview(command: Callable[[str, str, str], str], rows: int) -> str:
    """A GridView with a CommandField (Edit, Delete, Select) and two BoundFields, as ASP.NET
    4.5 lays it out (tabs, CR LF), with a pager row."""
    out = [
        "<div>\r\n",
        '\t<table cellspacing="0" rules="all" border="1" id="GridView1"'
        ' style="border-collapse:collapse;">\r\n\t\t<tr>\r\n'
        '\t\t\t<th scope="col">&nbsp;</th>'
        f'<th scope="col">{command("GridView1", "Sort$Name", "Name")}</th>'
        f'<th scope="col">{command("GridView1", "Sort$City", "City")}</th>\r\n',
    ]
    for n in range(rows):
        commands = "&nbsp;".join(command("GridView1", f"{verb}${n}", verb)
                                 for verb in _GRID_COMMANDS)
        out.append(f"\t\t</tr><tr>\r\n\t\t\t<td>{commands}</td><td>{_NAMES[n % 10]}</td>"
                   f"<td>{_CITIES[n % 10]}</td>\r\n")
    pager = "".join(f"<td>{command('GridView1', f'Page${p}', str(p))}</td>" for p in range(2, 11))
    out.append(f'\t\t</tr><tr>\r\n\t\t\t<td colspan="3"><table>\r\n\t\t\t\t<tr>\r\n'
               f"\t\t\t\t\t<td><span>1</span></td>{pager}\r\n\t\t\t\t</tr>\r\n"
               "\t\t\t</table></td>\r\n\t\t</tr>\r\n\t</table>\r\n</div>\r\n")
    return "".join(out)


def gridview(size: int = SIZE, rows: int = 235, *, aspnet: bool) -> bytes:
    """One target with many arguments: a GridView's commands, in one WebForms form."""
    grid = _gridview(_aspnet_command if aspnet else _data_command, rows)
    form = ('<form method="post" action="./Orders.aspx" id="form1">\r\n'
            f'<div class="page">\r\n<h2>Orders</h2>\r\n{grid}</div>\r\n</form>\r\n')
    return compose([form], size)


def form_per_row(size: int = 44_000, rows: int = 150, first: int = 1) -> bytes:
    """An admin list page: every row has its own small post form (a delete button); rows
    from ``first`` on (a later page of the list)."""
    body = "".join(
        f'<tr><td class="field-id"><a href="/admin/users/{n}/change/">{n}</a></td>'
        f"<td>{_NAMES[n % 10]}</td><td>user{n}@example.org</td>"
        f'<td><form method="post" action="/admin/users/{n}/delete/" class="inline">'
        '<button type="submit" class="btn btn-danger">Delete</button></form></td></tr>\n'
        for n in range(first, first + rows)
    )
    table = ('<div id="changelist"><table id="result_list">\n<thead><tr><th>ID</th><th>Name</th>'
             f"<th>Email</th><th></th></tr></thead>\n<tbody>\n{body}</tbody>\n</table></div>\n")
    return compose([table], size)


def _json(n: int, length: int) -> str:
    """HTML-escaped JSON of about ``length`` characters (React-style hydration props)."""
    items = []
    i = 0
    while sum(map(len, items)) < length:
        items.append(f'{{&quot;id&quot;:{n * 100 + i},&quot;label&quot;:&quot;{_words(n + i, 3)}'
                     f'&quot;,&quot;tags&quot;:[&quot;a&amp;b&quot;,&quot;&lt;x&gt;&quot;]}}')
        i += 1
    return "[" + ",".join(items) + "]"


def long_values(size: int = SIZE, forms: int = 3, postbacks: int = 120) -> bytes:
    """Long attribute values, big inline scripts and styles, around a few post forms."""
    style = "\n".join(f"  .c{n} > .item:nth-child({n % 7 + 1}n) {{ margin: {n % 5}px {n % 9}px; "
                      f"background: linear-gradient(90deg, #{n * 4111 % 0xFFFFFF:06x}, "
                      "transparent); }" for n in range(80))
    state = ",\n".join(f'    "k{n}": {{"id": {n}, "text": "{_words(n, 6)}", '
                       f'"html": "<div class=\\"x\\">{n}</div>", "ok": {str(n % 2 == 0).lower()}}}'
                       for n in range(100))
    head = HEAD.replace("</head>", f"<style>\n{style}\n</style>\n<script>\n  window.__STATE__ = "
                                   f"{{\n{state}\n  }};\n  if (a < b && b > c) {{ go(); }}\n"
                                   "</script>\n</head>")
    per_form = postbacks // forms
    blocks = []
    for index in range(forms):
        cards = []
        for n in range(index * per_form + 1, (index + 1) * per_form + 1):
            argument = f"{n}:" + "&quot;" + "x" * 40 if n % 10 else f"{n}:" + "q" * 600
            cards.append(
                f'<div class="card" style="border:1px solid #ddd;padding:4px 8px;'
                f'box-shadow:0 1px 2px rgba(0,0,0,.{n % 9});">'
                f'<img alt="" width="32" height="32" srcset="/img/{n}-1x.png 1x, '
                f'/img/{n}-2x.png 2x, /img/{n}-3x.png 3x">'
                f'<button type="button" data-postback="card" data-postback-argument="{argument}">'
                "Open</button></div>\n"
            )
        widget = (f'<div class="widget" data-props="{_json(index, 2500)}"></div>\n'
                  f'<svg viewBox="0 0 100 100"><path d="'
                  + " ".join(f"L{(i * 37) % 100} {(i * 53) % 100}" for i in range(150))
                  + '"/></svg>\n')
        blocks.append(
            f'<section id="batch-{index}">\n{widget}'
            f'<form method="post" action="/cards?batch={index}">\n{"".join(cards)}'
            '<p><button type="submit" name="save" value="1">Save</button></p>\n'
            "</form>\n</section>\n"
        )
    return compose(blocks, size, head=head)


def many_small_forms(size: int = SIZE, forms: int = 100) -> bytes:
    """A discussion page: a small post form (votes, a reply box) after each answer."""
    blocks = [
        f'<article id="answer-{n}" class="answer">\n'
        f'<form method="post" action="/questions/42/answers/{n}/vote" class="vote">'
        f'<button type="button" data-postback="vote" data-postback-argument="up:{n}">&#9650;'
        f'</button><span class="score">{n * 13 % 97}</span>'
        f'<button type="button" data-postback="vote" data-postback-argument="down:{n}">&#9660;'
        '</button><input type="text" name="reply" placeholder="Reply&hellip;"></form>\n'
        "</article>\n"
        for n in range(1, forms + 1)
    ]
    return compose(blocks, size)


def blog_no_post(size: int = SIZE) -> bytes:
    """A blog post: no post form at all (a GET search form in the nav, from pages.HEAD)."""
    head = HEAD.replace("</head>", '<meta property="og:type" content="article">\n'
                        '<script type="application/ld+json">{"@context": "https://schema.org",'
                        ' "@type": "BlogPosting", "headline": "Ledgers &amp; invoices"}</script>'
                        "\n</head>")
    code = ("<pre><code class=\"language-python\">def total(orders):\n"
            "    return sum(o.amount for o in orders if o.amount &gt; 0)  # &lt;form&gt;\n"
            "</code></pre>\n")
    comments = "".join(f'<li id="c{n}"><a href="/u/{n}">{_NAMES[n % 10]}</a>: '
                       f"<p>{_words(n, 20)}</p></li>\n" for n in range(40))
    blocks = [f'<article>\n<h1>Ledgers &amp; invoices</h1>\n{code}', "</article>\n",
              f'<section id="comments"><ol>\n{comments}</ol></section>\n']
    return compose(blocks, size, head=head)


@dataclass(frozen=True)
class Shape:
    name: str
    page: bytes
    forms: int  # post forms that get tokens
    # Pages the app returns after it, in turn, then it again (a list's next pages: forms
    # whose actions the middleware has not read yet); its yardsticks are the first page's.
    next_pages: tuple[bytes, ...] = ()


# A list of 3,000 users, 150 a page: more actions than the middleware keeps read (1,024).
_LIST_PAGES = 20


def shapes() -> list[Shape]:
    return [
        Shape("realistic", realistic_page(SIZE, forms=3, postbacks=400), 3),
        Shape("target-per-row", target_per_row(), 4),
        Shape("gridview-data", gridview(aspnet=False), 1),
        Shape("gridview-aspnet", gridview(aspnet=True), 1),
        Shape("form-per-row", form_per_row(), 150),
        Shape("form-per-row-paged", form_per_row(), 150, tuple(
            form_per_row(first=1 + 150 * page) for page in range(1, _LIST_PAGES))),
        Shape("long-values", long_values(), 3),
        Shape("many-small-forms", many_small_forms(), 100),
        Shape("blog-no-post", blog_no_post(), 0),
        Shape("realistic-1mb", realistic_page(2**20, forms=12, postbacks=5000), 12),
    ]


def _references(page: bytes) -> int:
    return page.count(b"data-postback=") + page.count(b"__doPostBack(")


# -- the run -------------------------------------------------------------------------------


def _in_turn(make_app: Callable[[bytes], WSGIApplication], shape: Shape) -> WSGIApplication:
    """The app of ``shape``'s page, or (its ``next_pages``) one that returns its pages in turn."""
    if not shape.next_pages:
        return make_app(shape.page)
    apps = itertools.cycle([make_app(page) for page in (shape.page, *shape.next_pages)])

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        return next(apps)(environ, start_response)

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="shapes whose name has NAME")
    parser.add_argument("--engine", choices=("python", "compiled"),
                        help="the scanner engine every page is read by (default: the "
                             "compiled one where it is built, as in production)")
    args = parser.parse_args(argv)
    if args.engine:
        from postback_middleware.html_scan import use_engine

        use_engine(args.engine)
    repeat, round_seconds = (3, 0.03) if args.quick else (7, 0.07)
    started = time.monotonic()
    family = [shape for shape in shapes()
              if not args.only or any(word in shape.name for word in args.only)]
    from postback_middleware.html_scan import ENGINES, page_engine

    print(f"postback-middleware shapes: {len(family)} page shapes x {len(MODES)} modes "
          "(issue #18, point 1)")
    print(f"{machine()}\n(CPU time: a busy machine moves the figures little, but a load "
          "average near the CPU count adds noise; compare runs by the ratios)")
    print(f"scanner engines built: {', '.join(ENGINES)}; pages read by: {page_engine()}")
    print(f"each figure: CPU time per call, fastest of {repeat} interleaved rounds of "
          f"~{round_seconds:g} s\n")

    funcs: dict[tuple[str, str], Thunk] = {}
    for shape in family:
        page = shape.page
        for mode, (make_app, _) in MODES.items():
            bare, wrapped = _in_turn(make_app, shape), wrap(_in_turn(make_app, shape))
            problem = check_rewritten(wrapped, page, shape.forms)
            if problem:
                print(f"WARNING: {shape.name}, {mode}: {problem}")
            funcs[shape.name, f"bare {mode}"] = partial(consume, bare)
            funcs[shape.name, f"wrapped {mode}"] = partial(consume, wrapped)
        funcs[shape.name, "regex"] = partial(FORM_TAG.findall, page)
        funcs[shape.name, "html.parser"] = partial(parse, page.decode())
    times = measure(funcs, repeat=repeat, round_seconds=round_seconds)

    # One row per shape and mode: (fractions of the targets, the printed cells).
    groups: list[tuple[float, str, list[str]]] = []
    for shape in family:
        regex, html = times[shape.name, "regex"], times[shape.name, "html.parser"]
        added = {mode: max(times[shape.name, f"wrapped {mode}"] - times[shape.name, f"bare {mode}"],
                           1e-9) for mode in MODES}
        worst, where, lines = 0.0, "", []
        for mode in MODES:
            over_regex, under_parser = added[mode] / regex, html / added[mode]
            scores = {"5x": over_regex / REGEX_TARGET, "50x": PARSER_TARGET / under_parser}
            cells = [f"{'PASS' if over_regex <= REGEX_TARGET else 'MISS':>5}",
                     f"{'PASS' if under_parser >= PARSER_TARGET else 'MISS':>5}"]
            if not shape.forms:
                scores["1.5x"] = over_regex / NO_FORM_TARGET
                cells.append(f"{'PASS' if over_regex <= NO_FORM_TARGET else 'MISS':>5}")
            else:
                cells.append(f"{'-':>5}")
            to_buffered = added[mode] / added["buffered"]
            if mode == "streamed":
                scores["10%"] = to_buffered / STREAM_TARGET
                cells.append(f"{'PASS' if to_buffered <= STREAM_TARGET else 'MISS':>5}")
            else:
                cells.append(f"{'-':>5}")
            target, score = max(scores.items(), key=lambda item: item[1])
            if score > worst:
                worst, where = score, f"{mode}, {target} target at {score:.2f} of its limit"
            ratio = "" if mode == "buffered" else f"{to_buffered:.2f}"
            lines.append(
                f"{shape.name:18} {len(shape.page) / 1000:7.1f} {mode:9} {added[mode] * 1e6:10.1f} "
                f"{over_regex:7.2f} {under_parser:8.1f} {ratio:>6}  {'  '.join(cells)}"
            )
        lines.append(f"{'':18} regex {regex * 1e6:.1f} µs, html.parser {html * 1e3:.2f} ms, "
                     f"{shape.forms} post forms, {_references(shape.page)} postback references"
                     f"; worst: {where}")
        groups.append((worst, shape.name, lines))
    groups.sort(key=lambda group: group[0])

    print(f"{'shape':18} {'KB':>7} {'mode':9} {'added µs':>10} {'x regex':>7} "
          f"{'parser/':>8} {'x buf':>6}  {'<=5x':>5}  {'>=50x':>5}  {'1.5x':>5}  {'10%':>5}")
    print(f"{'':18} {'':7} {'':9} {'':10} {'':7} {'added':>8} {'':6}  "
          f"{'regex':>5}  {'parser':>5}  {'noform':>5}  {'strm':>5}")
    for _, _, lines in groups:
        print("\n".join(lines))
    misses = sum(line.count("MISS") for _, _, lines in groups for line in lines)
    worst, name, _ = groups[-1] if groups else (math.nan, "-", [])
    print(f"\nworst shape: {name} ({worst:.2f} of its tightest target's limit); "
          f"{misses} MISS in all; run took {time.monotonic() - started:.0f} s")
    print("columns: added = wrapped app minus bare app, per GET; x regex = added / one regex "
          "findall; parser/added = one html.parser pass / added; x buf = added / buffered "
          "added; targets: <=5x regex, >=50x below html.parser, no-post-form page <=1.5x "
          "regex, streamed within 10 % of buffered")
    return 0


if __name__ == "__main__":
    sys.exit(main())
