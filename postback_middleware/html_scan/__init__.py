"""Find the start and end tags of an HTML document, as a browser would, with byte offsets.

The middleware edits pages by inserting bytes at offsets (after a ``<form ...>`` start tag,
before ``</head>`` or ``</form>``); it never re-serializes the page. So it has to see exactly
the tags that a browser's HTML5 tokenizer sees, and nothing that merely looks like a tag:
``<form>`` text in a comment, a ``<script>``, a ``<textarea>``, an attribute value or a
CDATA section is not a form.

Approach
--------
The scanner works on the raw bytes (any ASCII-compatible encoding: UTF-8, Latin-1,
cp1252, ...), because every byte that matters to the tokenizer (``<``, ``>``, quotes, ``=``,
``/``, ``-``, ``!``, ``?``, ``[``, ``]``, ASCII letters and whitespace) is ASCII there.

* In the data state one compiled regex (``tokenizer._NEXT``) finds the next ``<`` that opens
  something and consumes the whole construct: a tag (a quote-free tag ends at its first
  ``>``; otherwise a grammar that follows the tokenizer's attribute states decides),
  a comment (including the abrupt ``<!-->``, ``<!--->`` and the ``--!>`` closer), a bogus
  comment (``<!...>``, ``<?...>``, ``</3...>``, DOCTYPE) or ``</>``. Every repeated
  sub-match of the tag grammar is made atomic with the ``(?=(X))\\N`` idiom, so a tag
  without its ``>`` (end of file inside a tag: the tag is dropped) fails in linear time.
* After a raw-text start tag the scanner jumps to the appropriate end tag with one regex
  search: RAWTEXT (``style``, ``xmp``, ``iframe``, ``noembed``, ``noframes``, ``noscript`` --
  scripting is assumed enabled, as in a browser), RCDATA (``textarea``, ``title``),
  PLAINTEXT (the rest of the document is text) and script data, whose "escaped" and
  "double escaped" states (``<!-- <script> </script> -->``) are followed with three regexes.
* Streamed pages are read in linear time, however they are cut. A piece that ends inside
  raw text (script data and its escaped states too), a comment, a CDATA section or a bogus
  comment leaves that state with the engine (its ``_carry``): the next call reads on from
  there, and the caller keeps only the few bytes that could begin the end (``</textarea``
  cut short is the longest). A piece that ends inside a tag leaves the tag undecided (the
  caller keeps it whole: its attributes are needed), but the engine notes how far it read
  and the tokenizer's state there (its ``_pending``; ``tokenizer._tag_progress``), so the
  next calls read only the new bytes, and the tag is tokenized whole once, when its ``>``
  has come.
* Those state switches are made by the HTML5 *tree builder*, not by the tokenizer, so a
  small model of tree construction (``tree._Tree``) decides when they happen: the
  foreign-content stack (``<svg>``/``<math>``, where ``<title>``, ``<style>`` and
  ``<script>`` are ordinary elements and ``<![CDATA[`` opens a CDATA section; HTML
  integration points such as ``foreignObject`` and MathML text integration points such as
  ``mi``; the "breakout" elements like ``<p>`` that leave foreign content), the "in select"
  insertion mode (only ``<script>`` switches the tokenizer there; ``<svg>`` is ignored) and
  the form element pointer (a nested ``<form>`` is ignored by the tree builder).
* Attribute mappings are decoded lazily, on first access, because the middleware looks at
  the attributes of a handful of tags only; ``names=`` skips building the other tags at all.

Engines
-------
The work above is done by one of two engines with the same results:

* the **Python engine** (``python_engine``, running the regexes of ``tokenizer`` and the
  model of ``tree``): the reference, readable and always there;
* the **compiled engine** (``_cscan.c``, built by ``pip install`` where a C compiler is found):
  the same tokenizer and tree model in C, some 50 times faster at the injector's scan
  (``benchmarks/speed.py`` prints both). It takes UTF-8 and the ASCII-compatible single-byte
  encodings (:func:`compiled_engine_reads`); other encodings use the Python engine.

:class:`TagScanner` and :func:`iter_tags` use the compiled engine when they can (``engine=``
forces one; :data:`ENGINES` lists those built). The injector reads pages through
:class:`PostbackScanner`, which also gathers the ``data-postback`` pairs inside the engine (and
those of ASP.NET's commonest links, ``href="javascript:__doPostBack('T','A')"``), so a page's
hundreds of postback links cost no Python object each; asked for families, the compiled
engine returns a stretch of rows that each have their own target (``row17`` raising
``delete:17``) as one :class:`Family`, and a grid's commands (``Edit$0 Delete$0 Edit$1 ...``)
as :class:`Rows`, read without a string a row; asked for bare forms, it returns a plain post
form with no tag returned inside it (a list page's delete or vote form) as one
:class:`BareForm` holding its pairs, instead of its two tags and their dict. The test suite
runs every scanner test on both engines, holds them equal on generated documents and arbitrary bytes
(``tests/test_scan_engines.py``), and the fuzzer compares them on every input.

Note that the scanner reports *tokens*: a nested ``<form>`` start tag is reported although
the tree builder drops it (no form element is created); callers that insert fields must
skip it themselves (a ``<form>`` seen while a form is open and not yet closed).

Layout
------
This package's modules, each with what it owns:

* ``scanners``: the public scanners (:class:`TagScanner`, :class:`PostbackScanner`,
  :func:`iter_tags`, :func:`top_level_cuts`, :func:`scan_panels`), :func:`find_post_form`
  (where a post form may start, read without a scan), :data:`ENGINES` and the choice of
  engine;
* ``tag``: what they return, :class:`Tag`, :data:`Pairs`, :class:`Family`, :class:`Rows`,
  :class:`BareForm` and :class:`PanelEnd`;
* ``tokenizer``: the tokenizer's grammar on bytes (the regexes, the states inside a tag and
  in script data), stateless;
* ``tree``: the model of tree construction (which start tags switch the tokenizer, foreign
  content, "in select", the form element pointer) and its element sets, such as
  :data:`VOID_ELEMENTS`;
* ``attributes``: attribute mappings, decoded lazily (character references, the input
  stream's CR and NUL rules);
* ``python_engine``: the Python engine, which drives ``tokenizer`` and ``tree`` over the
  pieces of a page;
* ``_cscan.c`` (module ``_cscan``): the compiled engine, which follows ``python_engine``,
  ``tokenizer`` and ``tree`` function by function: change them together.

Everything public is imported from the package itself (``from postback_middleware.html_scan
import TagScanner``). Names with a leading underscore are shared between the package's
modules and are not for use outside it; the test suite and the fuzzer call
``html_scan.use_engine("python")`` (or ``"compiled"``, or None for the default choice) to run
every scanner on one engine.

Known divergences from a browser
--------------------------------
The tests compare with html5lib (with one correction where html5lib departs from the
standard: "any other end tag" matches HTML elements only). What the model does not follow,
all tree-construction effects that ordinary pages do not exercise:

* Frameset documents: after an accepted ``<frameset>`` a browser ignores ``<script>``,
  ``<style>`` etc. (their content is then markup); here they still switch to raw text.
* An end tag met inside ``<svg>``/``<math>`` whose element is not in the foreign-content
  stack leaves foreign content when an HTML element of that name was opened (and not
  closed) before, else is ignored; a browser decides with the real stack and scope rules
  (e.g. a ``<div>`` between that element and the ``<svg>`` stops ``</span>``).
* ``<select>`` follows the HTML Standard's rules from before its relaxed ``<select>`` parser
  (whatwg/html#10557, 2025), which Chromium ships (156 was checked): there the content of a
  ``<select>`` is parsed much as in body, so a ``<style>`` (or a ``<div>`` and then a
  ``<style>``) inside it is raw text, where the model ignores it as the older rules did; a
  ``<form>`` start tag written inside such a ``<style>`` is seen here and not by the browser
  (its fields would land in the style's text: no form gets them). And in "in select in table"
  end tags of table parts (``</td>``, ``</tr>``...) are assumed to be in table scope, so they
  end the ``<select>`` (html5lib, on the older rules, ignores one that is not open; for the
  tags that follow, Chromium agrees with the model).
* Implied end tags, the adoption agency algorithm and foster parenting are not modelled
  inside integration points (e.g. ``<svg><foreignObject><p><div></p>``).
"""

from __future__ import annotations

from .scanners import (
    ENGINES,
    FORM_TAGS,
    POSTBACK_WORDS,
    Engine,
    PostbackScanner,
    TagScanner,
    compiled_engine_reads,
    find_post_form,
    iter_tags,
    page_engine,
    post_form_finder,
    scan_panels,
    top_level_cuts,
    use_engine,
)
from .tag import (
    AUTOPOSTBACK_TAGS,
    FORM_ASSOCIATED,
    BareForm,
    Family,
    Pairs,
    PanelEnd,
    Rows,
    Tag,
    declared_pairs,
)
from .tree import VOID_ELEMENTS, closes_itself

__all__ = [
    "AUTOPOSTBACK_TAGS",
    "ENGINES",
    "FORM_ASSOCIATED",
    "FORM_TAGS",
    "POSTBACK_WORDS",
    "VOID_ELEMENTS",
    "BareForm",
    "Engine",
    "Family",
    "Pairs",
    "PanelEnd",
    "PostbackScanner",
    "Rows",
    "Tag",
    "TagScanner",
    "closes_itself",
    "compiled_engine_reads",
    "declared_pairs",
    "find_post_form",
    "iter_tags",
    "page_engine",
    "post_form_finder",
    "scan_panels",
    "top_level_cuts",
    "use_engine",
]
