/* The compiled engine of html_scan: the same tokenizer and tree model, in C.
 *
 * The Python engine beside this file is the reference (python_engine.py, running the grammar
 * of tokenizer.py and the model of tree.py); this file follows it function by function
 * (tag_end ~ tokenizer._TAG_BODY, script_end ~ tokenizer._script_end, tree_start ~
 * tree._Tree.start, collect_pairs ~ _PythonEngine._emit, resume_carry ~ _PythonEngine._resume
 * and _resume_raw_text, tag_progress ~ tokenizer._tag_progress, pend_tag ~ _PythonEngine._pend,
 * ...), and the test suite runs every scanner test, the html5lib differential and the
 * engine-against-engine properties on both. Read those modules first: the comments here say
 * what is particular to C.
 *
 * Scanner(encoding, names, hints, postbacks, decode_text, decode_value, tag_type)
 *   encoding      codec of names and values. The caller passes only UTF-8 and single-byte
 *                 encodings in which ASCII bytes are ASCII characters and no other byte is
 *                 (html_scan.compiled_engine_reads), so ASCII names are compared as lowercased
 *                 bytes; a name with other bytes is compared by its decoded text.
 *   names         tuple of lowercase ASCII tag names to return, or None for all tags.
 *   hints         tuple of lowercase bytes: a tag whose attribute text contains one of them
 *                 (ASCII case-insensitive) is returned as well.
 *   postbacks     the rewriter's mode (html_scan.PostbackScanner): a start tag that is not
 *                 wanted by name gives its data-postback / data-autopostback pairs instead,
 *                 each pair once per batch, and is returned only when it has a form,
 *                 formaction or formmethod attribute, an id or name beginning with "__",
 *                 or an href, onclick or onchange whose raw value mentions "doPostBack"
 *                 (ASCII case-insensitive: ASP.NET's postback references), but for the
 *                 commonest of those, an a or area without onclick or onchange whose
 *                 first href is "javascript:__doPostBack('T','A')", decoded: its pair is
 *                 gathered instead (href_call).
 *   decode_text   Python function(bytes) -> str for names and values with CR or NUL,
 *   decode_value  and for values with a character reference other than the numeric ones and
 *                 &amp; &lt; &gt; &quot; &apos; &nbsp; (decoded here: see read_charref): the
 *                 rare slow path.
 *   tag_type      html_scan.Tag, the tuple subclass the tags are made as.
 * Scanner(..., cuts=True): instead of tags, scan(markup, True) returns where markup divides into
 *   its top-level pieces (partial: a panel's children), as ints: a tag's start where text
 *   ends before a top-level tag, a top-level element's end (its end tag's, or a void or
 *   self-closing tag's), in order; names must be None, and each call reads one whole
 *   document (cut_tag: html_scan.top_level_cuts).
 * Scanner(..., panel_end_type=PanelEnd): html_scan.PanelEnd, the tuple subclass the ends of
 *   panels are made as (needed by watch_panels).
 * Scanner.watch_panels(ids): a partial postback's update panels (ids: a collection of str).
 *   The start tag of each (a data-update-panel attribute and one of those ids) is returned
 *   too, after its pairs; the tags of its name after it are counted with nesting (no object
 *   made for them unless wanted for themselves), and the end tag that brings the count to 0
 *   gives a PanelEnd (id, start, end), after that tag if it is returned; the regions open
 *   carry over between calls of scan (count_regions, open_panel). Only the first start tag
 *   of an id opens a region (a later one is returned, and counted in a region open of its
 *   name).
 * Scanner.scan(data, final) -> (items, decided), items in document order: tags
 *   (name, is_end, start, end, attrs: read-only mapping, self_closing), and, in postbacks mode,
 *   dicts {target: [argument, ...]} of the pairs met since the previous returned tag, given
 *   just before the next one or at the end of the document (a batch spans calls). data is
 *   any buffer (the rewriter's growing bytearray); the caller passes data[decided:] again,
 *   followed by more: the raw text, comment or CDATA state (carry) and how far an open tag
 *   was read (tag_pending) rely on it. scan(data, final, start) reads data from start, its
 *   offsets data's: the caller passes the same document again, from decided (html_scan's
 *   find_post_form: a page read up to where a post form may start, and on from there).
 * Scanner.in_data: whether the data so far was decided in the data state (Scanner_in_data).
 * Scanner.open_regions: how many panels asked for are open (a test hook: at most one an id).
 * Scanner.restart_into(other): a scanner started where another decided, in its state
 *   (Scanner_restart_into).
 *
 * Speed (issue #18; benchmarks/scan_speed.py prints the scan per page shape against a regex
 * pass). A tag with a known name and no attributes that is only counted (a table's "<td>",
 * "</tr>": most tags of a list page) is read from one word of its name (plain_tag). Every
 * other tag goes through scan_data, read_tag and tag_end, inlined into one loop: tag names
 * are read a byte at a time (they are short: 16-byte SIMD steps measured slower there),
 * attribute names 16 bytes at a time, and both are looked up a word at a time (lower8,
 * known_words, classify_words). What costs most besides is Python objects: the
 * pairs are kept in C until their batch ends (Batch), the names of returned tags and
 * attributes are made once per process (decode_name), the common character references are
 * decoded here, and values are read on their raw bytes where that tells the same
 * (reserved_value). Where the Python engine is reproduced by other means, the
 * comment says why it gives the same result; tests/test_scan_engines.py holds each edge.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* ------------------------------------------------------------------ bytes helpers */

/* Character classes of the tokenizer's states, one table lookup per byte. */
enum {
    C_WS = 1,             /* \t \n \f \r and space */
    C_NAME_STOP = 2,      /* ends a tag name: whitespace, "/", ">" */
    C_ATTR_NAME_STOP = 4, /* ends an attribute name: whitespace, "/", "=", ">" */
    C_UNQUOTED_STOP = 8,  /* ends an unquoted value: whitespace, ">" */
    C_BETWEEN_ATTRS = 16, /* skipped between attributes: whitespace, "/" */
    C_ODD_NAME = 32,      /* makes a name need decoding: non-ASCII bytes, NUL */
    C_CONTROL = 64,       /* the other bytes below 0x20 (see read_tag) */
};
static unsigned char CLS[256];
static unsigned char LOWER[256]; /* ASCII lowercase, other bytes as they are */
/* Bytes that are their own text in a value: not in plain_value's (ASCII, not "&", CR, NUL),
 * not in raw_href_call's (printable ASCII but for quotes, "\\", "%" and "&"). */
enum { P_VALUE = 1, P_RAW = 2 };
static unsigned char PLAIN[256];

static void init_classes(void)
{
    const char *ws = " \t\n\f\r";
    int c;
    for (; *ws; ws++)
        CLS[(unsigned char)*ws] |= C_WS | C_NAME_STOP | C_ATTR_NAME_STOP | C_UNQUOTED_STOP
                                   | C_BETWEEN_ATTRS;
    CLS['/'] |= C_NAME_STOP | C_ATTR_NAME_STOP | C_BETWEEN_ATTRS;
    CLS['>'] |= C_NAME_STOP | C_ATTR_NAME_STOP | C_UNQUOTED_STOP;
    CLS['='] |= C_ATTR_NAME_STOP;
    CLS[0] |= C_ODD_NAME;
    for (c = 1; c < 0x20; c++)
        if (!(CLS[c] & C_WS))
            CLS[c] |= C_CONTROL;
    for (c = 0x80; c < 0x100; c++)
        CLS[c] |= C_ODD_NAME;
    for (c = 0; c < 0x100; c++) {
        LOWER[c] = (unsigned char)((c >= 'A' && c <= 'Z') ? c | 0x20 : c);
        if (c < 0x80 && c != '&' && c != '\r' && c != '\0')
            PLAIN[c] |= P_VALUE;
        if (c >= 0x20 && c < 0x7F && c != '\'' && c != '"' && c != '\\' && c != '%' && c != '&')
            PLAIN[c] |= P_RAW;
    }
}

static inline int is_ws(unsigned char c)
{
    return CLS[c] & C_WS;
}

static inline int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static inline int is_alpha(unsigned char c)
{
    c |= 0x20;
    return c >= 'a' && c <= 'z';
}

static inline unsigned char lower(unsigned char c)
{
    return LOWER[c];
}

/* s[0:len] lowercased equals the lowercase literal lit */
static int eq_ci(const unsigned char *s, Py_ssize_t len, const char *lit)
{
    Py_ssize_t i;
    for (i = 0; i < len; i++) {
        if (lit[i] == '\0' || lower(s[i]) != (unsigned char)lit[i])
            return 0;
    }
    return lit[len] == '\0';
}

static inline uint64_t load8(const void *p)
{
    uint64_t word;
    memcpy(&word, p, 8);
    return word;
}

/* The 8 bytes of x with ASCII A-Z lowercased, a word at a time (bytes from 0x80 as they
 * are): a byte's top bit is set by adding 0x3F when it is at least "A", by adding 0x25 when
 * it is above "Z" (on its low 7 bits, so that no carry crosses bytes). */
static inline uint64_t lower8(uint64_t x)
{
    uint64_t low7 = x & 0x7F7F7F7F7F7F7F7Full;
    uint64_t upper = (low7 + 0x3F3F3F3F3F3F3F3Full) & ~(low7 + 0x2525252525252525ull) & ~x
                     & 0x8080808080808080ull;
    return x | (upper >> 2);
}

/* The mask of the first len bytes of a word as load8 reads it, len at most 8. */
static inline uint64_t prefix8(Py_ssize_t len)
{
    if (len >= 8)
        return ~0ull;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return ~(~0ull >> (8 * len));
#else
    return (1ull << (8 * len)) - 1;
#endif
}

/* s[0:8] equals lit[0:8], 8 bytes of [a-z0-9-], ASCII case-insensitive: a letter's case bit
 * (0x20, where the literal has bit 0x40) is set in s before comparing, other bytes compare
 * exactly. */
static inline int eq8_ci(const unsigned char *s, const char *lit)
{
    uint64_t word = load8(lit);
    return (load8(s) | ((word & 0x4040404040404040ull) >> 1)) == word;
}

/* eq_ci for a literal of at least 8 bytes of [a-z0-9-] whose length is len: a word at a time
 * (the last word may overlap the one before). */
static inline int eq_ci_long(const unsigned char *s, Py_ssize_t len, const char *lit)
{
    Py_ssize_t i;
    for (i = 0; i + 8 <= len; i += 8)
        if (!eq8_ci(s + i, lit + i))
            return 0;
    return i == len || eq8_ci(s + len - 8, lit + len - 8);
}

/* s starts with the m bytes of the lowercase literal lit (ASCII case-insensitive) */
static int starts_ci(const unsigned char *s, const char *lit, Py_ssize_t m)
{
    Py_ssize_t k;
    for (k = 0; k < m && lower(s[k]) == (unsigned char)lit[k]; k++)
        ;
    return k == m;
}

#ifdef __SSE2__
static inline __m128i load16(const unsigned char *p)
{
    return _mm_loadu_si128((const __m128i *)p);
}

/* 0xFF where a byte of v is c */
static inline __m128i bytes_eq(__m128i v, char c)
{
    return _mm_cmpeq_epi8(v, _mm_set1_epi8(c));
}

/* The bits of the bytes of v that may end an attribute name: up to 0x20 (whitespace among
 * them), "/", "=", ">". A superset: the caller looks the byte up in CLS (the other control
 * bytes are part of a name). */
static inline unsigned attr_name_stops(__m128i v)
{
    __m128i low = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x20)), v);
    __m128i marks = _mm_or_si128(_mm_or_si128(bytes_eq(v, '/'), bytes_eq(v, '=')),
                                 bytes_eq(v, '>'));
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(low, marks));
}
#endif

/* The offset of the first byte c in s[pos:n], or -1. What is searched for is most often a
 * few bytes away (the next "<" after a tag, often the very next byte; a value's closing
 * quote): the next byte is looked at, then the next 128 bytes 16 at a time (SSE2, on every
 * x86-64), and only then is memchr called (a call costs more than a short search). (Measured
 * on the pages of benchmarks/shapes.py against other splits: a few percent of a scan.) */
static inline Py_ssize_t find_byte(const unsigned char *s, Py_ssize_t pos, Py_ssize_t n,
                                   unsigned char c)
{
    const unsigned char *hit;
    if (pos < n && s[pos] == c)
        return pos;
    pos++;
#ifdef __SSE2__
    {
        const __m128i wanted = _mm_set1_epi8((char)c);
        int block;
        for (block = 0; block < 8 && pos + 16 <= n; block++, pos += 16) {
            int mask = _mm_movemask_epi8(_mm_cmpeq_epi8(load16(s + pos), wanted));
            if (mask)
                return pos + __builtin_ctz((unsigned)mask);
        }
    }
#endif
    if (pos >= n)
        return -1;
    hit = memchr(s + pos, c, (size_t)(n - pos));
    return hit == NULL ? -1 : hit - s;
}

/* The offset of the first byte a or b in s[pos:n], or -1 (find_byte for two bytes) */
static Py_ssize_t find_either(const unsigned char *s, Py_ssize_t pos, Py_ssize_t n,
                              unsigned char a, unsigned char b)
{
#ifdef __SSE2__
    const __m128i wanted_a = _mm_set1_epi8((char)a), wanted_b = _mm_set1_epi8((char)b);
    for (; pos + 16 <= n; pos += 16) {
        __m128i bytes = load16(s + pos);
        int mask = _mm_movemask_epi8(
            _mm_or_si128(_mm_cmpeq_epi8(bytes, wanted_a), _mm_cmpeq_epi8(bytes, wanted_b)));
        if (mask)
            return pos + __builtin_ctz((unsigned)mask);
    }
#endif
    for (; pos < n; pos++)
        if (s[pos] == a || s[pos] == b)
            return pos;
    return -1;
}

static Py_ssize_t find_bytes(const unsigned char *s, Py_ssize_t n, Py_ssize_t pos,
                             const char *lit, Py_ssize_t m)
{
    const unsigned char *hit;
    while (pos + m <= n) {
        hit = memchr(s + pos, lit[0], (size_t)(n - pos - m + 1));
        if (hit == NULL)
            return -1;
        pos = hit - s;
        if (memcmp(s + pos, lit, (size_t)m) == 0)
            return pos;
        pos++;
    }
    return -1;
}

/* ------------------------------------------------------------------ tag names */

/* A name of at most KNOWN_MAX_LEN bytes is handled as two words, lowercased and zero-padded:
 * it is hashed and compared with the names of KNOWN a word at a time. Longer names (rare)
 * are hashed a byte at a time. */
#define KNOWN_MAX_LEN 15 /* the longest name in KNOWN ("annotation-xml") fits, with a NUL */

static inline uint32_t words_hash(const uint64_t words[2])
{
    /* one multiply (the second word is 0 for most names), its high bits */
    uint64_t h = (words[0] ^ (words[1] << 29 | words[1] >> 35)) * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 32);
}

/* s[0:len] lowercased and zero-padded into two words (len at most KNOWN_MAX_LEN) */
static inline void name_words(const unsigned char *s, Py_ssize_t len, uint64_t words[2])
{
    unsigned char *bytes = (unsigned char *)words;
    Py_ssize_t i;
    words[0] = words[1] = 0;
    for (i = 0; i < len; i++)
        bytes[i] = lower(s[i]);
}

/* The hash of a tag name, ASCII case-insensitive: the one function every table of names
 * (KNOWN, the open-element counts) is hashed with. */
static uint32_t name_hash(const unsigned char *s, Py_ssize_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a over the lowercased bytes */
    Py_ssize_t i;
    if (len <= KNOWN_MAX_LEN) {
        uint64_t words[2];
        name_words(s, len, words);
        return words_hash(words);
    }
    for (i = 0; i < len; i++)
        h = (h ^ lower(s[i])) * 16777619u;
    return h;
}

/* ------------------------------------------------------------------ known names */

enum {
    F_RAWTEXT = 1 << 0,   /* style xmp iframe noembed noframes noscript */
    F_RCDATA = 1 << 1,    /* textarea title */
    F_SCRIPT = 1 << 2,
    F_PLAINTEXT = 1 << 3,
    F_SVG = 1 << 4,
    F_MATH = 1 << 5,
    F_SELECT = 1 << 6,
    F_TABLE = 1 << 7,
    F_FORM = 1 << 8,
    F_VOID = 1 << 9,
    F_NOT_COUNTED = 1 << 10,   /* html head body */
    F_BREAKOUT = 1 << 11,
    F_IGNORED_IN_BODY = 1 << 12,
    F_TABLE_PART = 1 << 13,
    F_HTML_BOUNDARY = 1 << 14,
    F_MATH_TEXT_IP = 1 << 15,
    F_SVG_HTML_IP = 1 << 16,
    F_FONT = 1 << 17,
    F_MGLYPH = 1 << 18,        /* mglyph malignmark */
    F_ANNOTATION_XML = 1 << 19,
    F_SELECT_CLOSER = 1 << 20, /* select input keygen textarea */
    F_AUTOPOSTBACK = 1 << 21,  /* input select textarea */
    F_BUTTON = 1 << 22,
    F_INPUT = 1 << 23,
};
#define F_SWITCH (F_RAWTEXT | F_RCDATA | F_SCRIPT | F_PLAINTEXT)
#define F_TREE (F_SWITCH | F_SVG | F_MATH | F_SELECT | F_TABLE | F_FORM)

static const struct { const char *name; int flags; } KNOWN[] = {
    {"style", F_RAWTEXT}, {"xmp", F_RAWTEXT}, {"iframe", F_RAWTEXT},
    {"noembed", F_RAWTEXT}, {"noframes", F_RAWTEXT}, {"noscript", F_RAWTEXT},
    {"textarea", F_RCDATA | F_SELECT_CLOSER | F_AUTOPOSTBACK},
    {"title", F_RCDATA | F_SVG_HTML_IP}, {"script", F_SCRIPT}, {"plaintext", F_PLAINTEXT},
    {"svg", F_SVG}, {"math", F_MATH},
    {"select", F_SELECT | F_SELECT_CLOSER | F_AUTOPOSTBACK},
    {"table", F_TABLE | F_BREAKOUT | F_TABLE_PART | F_HTML_BOUNDARY}, {"form", F_FORM},
    {"area", F_VOID}, {"base", F_VOID}, {"basefont", F_VOID}, {"bgsound", F_VOID},
    {"br", F_VOID | F_BREAKOUT}, {"col", F_VOID | F_IGNORED_IN_BODY},
    {"embed", F_VOID | F_BREAKOUT}, {"frame", F_VOID | F_IGNORED_IN_BODY},
    {"hr", F_VOID | F_BREAKOUT}, {"image", F_VOID}, {"img", F_VOID | F_BREAKOUT},
    {"input", F_VOID | F_SELECT_CLOSER | F_AUTOPOSTBACK | F_INPUT},
    {"keygen", F_VOID | F_SELECT_CLOSER}, {"link", F_VOID}, {"meta", F_VOID | F_BREAKOUT},
    {"param", F_VOID}, {"source", F_VOID}, {"track", F_VOID}, {"wbr", F_VOID},
    {"html", F_NOT_COUNTED | F_IGNORED_IN_BODY | F_HTML_BOUNDARY},
    {"head", F_NOT_COUNTED | F_IGNORED_IN_BODY | F_BREAKOUT},
    {"body", F_NOT_COUNTED | F_IGNORED_IN_BODY | F_BREAKOUT},
    {"b", F_BREAKOUT}, {"big", F_BREAKOUT}, {"blockquote", F_BREAKOUT},
    {"center", F_BREAKOUT}, {"code", F_BREAKOUT}, {"dd", F_BREAKOUT}, {"div", F_BREAKOUT},
    {"dl", F_BREAKOUT}, {"dt", F_BREAKOUT}, {"em", F_BREAKOUT}, {"h1", F_BREAKOUT},
    {"h2", F_BREAKOUT}, {"h3", F_BREAKOUT}, {"h4", F_BREAKOUT}, {"h5", F_BREAKOUT},
    {"h6", F_BREAKOUT}, {"i", F_BREAKOUT}, {"li", F_BREAKOUT}, {"listing", F_BREAKOUT},
    {"menu", F_BREAKOUT}, {"nobr", F_BREAKOUT}, {"ol", F_BREAKOUT}, {"p", F_BREAKOUT},
    {"pre", F_BREAKOUT}, {"ruby", F_BREAKOUT}, {"s", F_BREAKOUT}, {"small", F_BREAKOUT},
    {"span", F_BREAKOUT}, {"strong", F_BREAKOUT}, {"strike", F_BREAKOUT},
    {"sub", F_BREAKOUT}, {"sup", F_BREAKOUT}, {"tt", F_BREAKOUT}, {"u", F_BREAKOUT},
    {"ul", F_BREAKOUT}, {"var", F_BREAKOUT},
    {"caption", F_IGNORED_IN_BODY | F_TABLE_PART | F_HTML_BOUNDARY},
    {"colgroup", F_IGNORED_IN_BODY},
    {"tbody", F_IGNORED_IN_BODY | F_TABLE_PART}, {"tfoot", F_IGNORED_IN_BODY | F_TABLE_PART},
    {"thead", F_IGNORED_IN_BODY | F_TABLE_PART}, {"tr", F_IGNORED_IN_BODY | F_TABLE_PART},
    {"td", F_IGNORED_IN_BODY | F_TABLE_PART | F_HTML_BOUNDARY},
    {"th", F_IGNORED_IN_BODY | F_TABLE_PART | F_HTML_BOUNDARY},
    {"applet", F_HTML_BOUNDARY}, {"marquee", F_HTML_BOUNDARY}, {"object", F_HTML_BOUNDARY},
    {"template", F_HTML_BOUNDARY},
    {"mi", F_MATH_TEXT_IP}, {"mo", F_MATH_TEXT_IP}, {"mn", F_MATH_TEXT_IP},
    {"ms", F_MATH_TEXT_IP}, {"mtext", F_MATH_TEXT_IP},
    {"foreignobject", F_SVG_HTML_IP}, {"desc", F_SVG_HTML_IP},
    {"font", F_FONT}, {"mglyph", F_MGLYPH}, {"malignmark", F_MGLYPH},
    {"annotation-xml", F_ANNOTATION_XML}, {"button", F_BUTTON},
    /* common names with no part in the model: known only so that counting them is cheap */
    {"a", 0}, {"abbr", 0}, {"address", 0}, {"article", 0}, {"aside", 0}, {"audio", 0},
    {"canvas", 0}, {"cite", 0}, {"data", 0}, {"del", 0}, {"details", 0}, {"dfn", 0},
    {"dialog", 0}, {"fieldset", 0}, {"figcaption", 0}, {"figure", 0}, {"footer", 0},
    {"header", 0}, {"hgroup", 0}, {"ins", 0}, {"kbd", 0}, {"label", 0}, {"legend", 0},
    {"main", 0}, {"mark", 0}, {"nav", 0}, {"optgroup", 0}, {"option", 0}, {"output", 0},
    {"picture", 0}, {"progress", 0}, {"q", 0}, {"samp", 0}, {"search", 0}, {"section", 0},
    {"slot", 0}, {"summary", 0}, {"time", 0}, {"video", 0},
};
#define N_KNOWN (sizeof(KNOWN) / sizeof(KNOWN[0]))
#define KNOWN_SLOTS 512 /* power of two, well above 2 * N_KNOWN */
/* The hash table of KNOWN: each slot holds its name's words, so that a lookup compares in
 * the slot itself (index: into KNOWN + 1; 0: an empty slot). */
static struct {
    uint64_t words[2];
    Py_ssize_t len;
    int index;
    int flags; /* KNOWN[index - 1].flags, here to save a load on every tag */
} known_slots[KNOWN_SLOTS];

/* The index of "template" in KNOWN: inside a <template> table parts open (tree.py). */
static Py_ssize_t known_template = -1;

/* The slot of KNOWN's table where a name's words (name_words) are looked up first. (Its
 * constants were chosen so that each of the commonest names, tr td th a p span div li b i
 * em strong code small ul ol table tbody thead form input button label select option
 * textarea img br hr h1-h4 section article header footer nav main, has its first slot: a
 * second probe is a longer wait on every such tag; a change to KNOWN may call for others.) */
static inline uint32_t known_hash(const uint64_t words[2])
{
    uint64_t h = (words[0] ^ (words[1] << 29 | words[1] >> 35)) * 0xC4CEB9FE1A85EC53ull;
    return (uint32_t)(h >> 49);
}

static int init_known(void)
{
    size_t k;
    for (k = 0; k < N_KNOWN; k++) {
        const char *name = KNOWN[k].name;
        if (strcmp(name, "template") == 0)
            known_template = (Py_ssize_t)k;
        Py_ssize_t len = (Py_ssize_t)strlen(name);
        uint64_t words[2];
        uint32_t slot;
        if (len > KNOWN_MAX_LEN) {
            PyErr_Format(PyExc_SystemError, "KNOWN name %s is over KNOWN_MAX_LEN", name);
            return -1;
        }
        name_words((const unsigned char *)name, len, words);
        for (slot = known_hash(words); known_slots[slot & (KNOWN_SLOTS - 1)].index; slot++)
            ;
        slot &= KNOWN_SLOTS - 1;
        known_slots[slot].words[0] = words[0];
        known_slots[slot].words[1] = words[1];
        known_slots[slot].len = len;
        known_slots[slot].index = (int)k + 1;
        known_slots[slot].flags = KNOWN[k].flags;
    }
    return 0;
}

/* The index in KNOWN of the name whose words and hash (known_hash) these are, or -1; its
 * flags in *flags (0 when it is not known). */
static inline int known_words(const uint64_t words[2], Py_ssize_t len, uint32_t hash,
                              int *flags)
{
    uint32_t slot;
    for (slot = hash;; slot++) {
        int index = known_slots[slot & (KNOWN_SLOTS - 1)].index;
        if (index == 0) {
            *flags = 0;
            return -1;
        }
        if (known_slots[slot & (KNOWN_SLOTS - 1)].words[0] == words[0]
            && known_slots[slot & (KNOWN_SLOTS - 1)].words[1] == words[1]
            && known_slots[slot & (KNOWN_SLOTS - 1)].len == len) {
            *flags = known_slots[slot & (KNOWN_SLOTS - 1)].flags;
            return index - 1;
        }
    }
}

#if (defined(__GNUC__) || defined(__clang__)) && defined(__BYTE_ORDER__) \
    && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define PLAIN_TAGS 1
/* For a tag with no attributes and a name of at most 7 bytes ("<td>", "</td>", "</a>": most
 * tags of a table), from one word: the index in KNOWN of the name that starts at p and ends
 * at the tag's ">", or -1 (read_tag decides then); *len its length, *flags its flags. 8 bytes
 * at p are read. The name matched is KNOWN's up to ASCII case: letters, digits and "-" only,
 * so no whitespace, "/" or odd byte comes before that ">", and it is the tag's whole name.
 * (Little-endian only: the first byte is the word's lowest.) */
static inline int plain_tag(const unsigned char *p, Py_ssize_t *len, int *flags)
{
    uint64_t w = load8(p), x = w ^ 0x3E3E3E3E3E3E3E3Eull;
    /* the first ">" (a byte of x that is 0): the lowest byte found is exact, and only it is
     * used (a borrow runs upward, from a byte found, to later bytes) */
    uint64_t gt = (x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull;
    uint64_t words[2];
    int known;
    if (!gt)
        return -1;
    *len = __builtin_ctzll(gt) >> 3;
    words[0] = w & prefix8(*len);
    words[1] = 0;
    /* as it is first (markup is mostly lowercase), then lowercased */
    known = known_words(words, *len, known_hash(words), flags);
    if (known >= 0)
        return known;
    words[0] = lower8(words[0]);
    return known_words(words, *len, known_hash(words), flags);
}
#endif

/* The index of a name in KNOWN, or -1. */
static int known(const unsigned char *s, Py_ssize_t len)
{
    uint64_t words[2];
    int flags;
    if (len > KNOWN_MAX_LEN)
        return -1;
    name_words(s, len, words);
    return known_words(words, len, known_hash(words), &flags);
}

/* ------------------------------------------------------------------ open-element counts */

typedef struct {
    uint32_t hash;
    uint32_t changed; /* listed in Scanner.changed (see Scanner_restart_into) */
    Py_ssize_t len;
    unsigned char *key; /* lowercased; NULL: empty slot */
    Py_ssize_t count;
} CountSlot;

typedef struct {
    CountSlot *slots;
    size_t capacity; /* power of two */
    size_t used;
} Counts;

static CountSlot *counts_find(Counts *c, const unsigned char *s, Py_ssize_t len, uint32_t h,
                              int create)
{
    size_t i, j;
    if (c->slots == NULL) {
        if (!create)
            return NULL;
        c->capacity = 64;
        c->slots = PyMem_Calloc(c->capacity, sizeof(CountSlot));
        if (c->slots == NULL)
            return NULL;
    }
    for (i = h & (c->capacity - 1);; i = (i + 1) & (c->capacity - 1)) {
        CountSlot *slot = &c->slots[i];
        if (slot->key == NULL)
            break;
        if (slot->hash == h && slot->len == len) {
            for (j = 0; j < (size_t)len && slot->key[j] == lower(s[j]); j++)
                ;
            if (j == (size_t)len)
                return slot;
        }
    }
    if (!create)
        return NULL;
    if ((c->used + 1) * 2 > c->capacity) { /* grow, then insert */
        CountSlot *old = c->slots;
        size_t old_capacity = c->capacity, k;
        c->slots = PyMem_Calloc(old_capacity * 2, sizeof(CountSlot));
        if (c->slots == NULL) {
            c->slots = old;
            return NULL;
        }
        c->capacity = old_capacity * 2;
        for (k = 0; k < old_capacity; k++) {
            if (old[k].key == NULL)
                continue;
            for (i = old[k].hash & (c->capacity - 1); c->slots[i].key != NULL;
                 i = (i + 1) & (c->capacity - 1))
                ;
            c->slots[i] = old[k];
        }
        PyMem_Free(old);
        for (i = h & (c->capacity - 1); c->slots[i].key != NULL; i = (i + 1) & (c->capacity - 1))
            ;
    }
    {
        CountSlot *slot = &c->slots[i];
        slot->key = PyMem_Malloc(len > 0 ? (size_t)len : 1);
        if (slot->key == NULL)
            return NULL;
        for (j = 0; j < (size_t)len; j++)
            slot->key[j] = lower(s[j]);
        slot->hash = h;
        slot->len = len;
        slot->count = 0;
        c->used++;
        return slot;
    }
}

static void counts_free(Counts *c)
{
    size_t i;
    if (c->slots == NULL)
        return;
    for (i = 0; i < c->capacity; i++)
        PyMem_Free(c->slots[i].key);
    PyMem_Free(c->slots);
    c->slots = NULL;
}

/* ------------------------------------------------------------------ foreign-content stack */

enum { NS_HTML, NS_SVG, NS_MATH };

typedef struct {
    int ns;
    int flags; /* of its name */
    int html_ip, text_ip, boundary;
    Py_ssize_t len;
    unsigned char *name; /* lowercased */
} Node;

/* ------------------------------------------------------------------ update panels */

/* A panel asked for whose end tag has not come (python_engine._PythonEngine._regions: [tag
 * name, depth, id]): its start tag's name, by its key lowercased (see TagInfo.key: two names
 * are one when their keys are), and its index in KNOWN (-1: none), how many elements of that
 * name are open from it on, and its id (a str: the PanelEnd's). */
typedef struct {
    unsigned char *name;
    Py_ssize_t len, depth;
    int known;
    PyObject *id;
} Region;

/* An element open in cuts mode: where its name lies in Scanner.cut_names. */
typedef struct {
    Py_ssize_t at, len;
} CutName;

/* ------------------------------------------------------------------ the batch of pairs */

/* The pairs met since the last returned tag (python_engine._PythonEngine._batch, and its
 * _in_scope set): each (target, argument) once, in the order met. They are kept here, not in
 * a dict of lists, and given out as one {target: [argument, ...]} dict when the batch ends
 * (batch_flush), each list made at its final size: a page's hundreds of pairs cost two
 * strings each and no dict or list growth. Targets are grouped by their text (a group: one
 * key of that dict, in the order first met); a pair is a group and an argument. Both tables
 * below are open-addressing indexes into the arrays (index + 1; 0: an empty slot), hashed
 * with str's own hash: keyed per process (SipHash), so a page cannot choose values that all
 * fall in one slot, and kept by the string (the dict uses the target's again). The batch
 * holds its own references to the strings. */
typedef struct {
    PyObject *target;
    Py_hash_t hash;   /* the target's */
    Py_ssize_t count; /* its pairs */
    PyObject *list;   /* batch_flush's, while it fills the lists (borrowed from the dict) */
    Py_ssize_t filled;
} Group;

typedef struct {
    PyObject *argument;
    Py_hash_t hash;   /* the argument's */
    Py_ssize_t group;
} Pair;

/* A batch whose pairs are, so far, one numbered family (see scanners.PostbackScanner's
 * families): the targets prefix + str(n) for n = first, first + 1, ... (count of them), each
 * with the argument `argument`, or (numbered) with argument + str(n). Read on the raw bytes of
 * values that are their own text (ASCII without "&", CR or NUL, which decode() copies), so a
 * grid's hundreds of rows cost no string at all; the first pair that does not continue the
 * family turns it into the batch's pairs (family_spill), and the batch goes on as usual. */
typedef struct {
    unsigned char *text; /* the prefix, then the argument (or its part before the number) */
    Py_ssize_t prefix_len, argument_len, cap;
    int numbered;
    long long first, count; /* count 0: no family (the batch is empty, or holds pairs) */
} FamilyRun;

/* A run of rows open in a batch (see scanners.PostbackScanner's families): one target's
 * arguments head + str(n), the same heads in the same order in each row, rows n = first,
 * first + 1, ... (a GridView's Edit$0 Delete$0 Select$0 Edit$1 ...), read on raw bytes that
 * are their own text. When the first pair that does not continue it comes (or the stretch
 * ends), a run of two or more complete rows is given out as a Rows, after the batch's pairs
 * before it (run_close); the rest of it becomes the batch's pairs. */
#define RUN_MAX_HEADS 8
#define RUN_HEADS_CAP 256 /* bytes of the heads, together */
typedef struct {
    PyObject *target; /* NULL: no run open */
    unsigned char heads[RUN_HEADS_CAP];
    Py_ssize_t head_at[RUN_MAX_HEADS + 1]; /* where each head starts in heads, and the end */
    int n_heads, pos, learning; /* pos: heads met in the current row (rows complete before) */
    long long first, rows;
} RowRun;

typedef struct {
    Group *groups;
    Pair *pairs;
    Py_ssize_t n_groups, n_pairs, cap_groups, cap_pairs;
    Py_ssize_t *group_slots, *pair_slots; /* the indexes; capacities: powers of two, or 0 */
    size_t group_capacity, pair_capacity;
    Py_ssize_t last_group; /* the group of the last pair (links repeat a target), or -1 */
    FamilyRun family;
    PyObject *family_type; /* html_scan.Family, or NULL: families off (pairs as dicts only) */
    RowRun run;
    PyObject *rows_type;   /* html_scan.Rows (with families) */
    PyObject *out;         /* the current scan's list of items (borrowed), for run_close */
    /* called before run_close gives a run out mid-stretch (bare forms: a form held back goes
     * out first), with before_out_ctx; NULL: none */
    int (*before_out)(void *);
    void *before_out_ctx;
} Batch;

static int same_text(PyObject *a, PyObject *b)
{
    return a == b
           || (PyUnicode_GET_LENGTH(a) == PyUnicode_GET_LENGTH(b)
               && PyUnicode_KIND(a) == PyUnicode_KIND(b)
               && memcmp(PyUnicode_DATA(a), PyUnicode_DATA(b),
                         (size_t)(PyUnicode_GET_LENGTH(a) * PyUnicode_KIND(a)))
                      == 0);
}

/* The slot of a pair's hash in an index (the mixing spreads a group's pairs apart). */
static inline size_t pair_slot_hash(Py_hash_t argument_hash, Py_ssize_t group)
{
    return (size_t)argument_hash ^ ((size_t)group * (size_t)0x9E3779B97F4A7C15ull);
}

/* Make room in an index for one more entry (rebuilt from the arrays when it grows);
 * -1 when memory runs out. */
static int batch_index_room(Batch *b, int pairs)
{
    size_t capacity = pairs ? b->pair_capacity : b->group_capacity, k, slot;
    Py_ssize_t used = pairs ? b->n_pairs : b->n_groups, i, *slots;
    if ((size_t)(used + 1) * 2 <= capacity)
        return 0;
    capacity = capacity ? capacity * 2 : 64;
    slots = PyMem_Calloc(capacity, sizeof(Py_ssize_t));
    if (slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (i = 0; i < used; i++) {
        size_t h = pairs ? pair_slot_hash(b->pairs[i].hash, b->pairs[i].group)
                         : (size_t)b->groups[i].hash;
        for (k = h;; k++) {
            slot = k & (capacity - 1);
            if (slots[slot] == 0)
                break;
        }
        slots[slot] = i + 1;
    }
    if (pairs) {
        PyMem_Free(b->pair_slots);
        b->pair_slots = slots;
        b->pair_capacity = capacity;
    }
    else {
        PyMem_Free(b->group_slots);
        b->group_slots = slots;
        b->group_capacity = capacity;
    }
    return 0;
}

/* Room for one more item in an array of items of size bytes; -1 when memory runs out. */
static int array_room(void **items, Py_ssize_t used, Py_ssize_t *cap, size_t size)
{
    Py_ssize_t capacity;
    void *bigger;
    if (used < *cap)
        return 0;
    capacity = *cap ? *cap * 2 : 64;
    bigger = PyMem_Realloc(*items, (size_t)capacity * size);
    if (bigger == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    *items = bigger;
    *cap = capacity;
    return 0;
}

/* Add a pair, unless the batch has it already (python_engine._PythonEngine._add_pair):
 * 1 added, 0 already there, -1 on error. (No family open: see batch_add.) */
static int batch_add_text(Batch *b, PyObject *target, PyObject *argument)
{
    Py_ssize_t g = b->last_group, index;
    Py_hash_t argument_hash;
    size_t k;
    if (b->n_groups == 0 || b->groups[g].target != target) { /* (same object: same text) */
        Py_hash_t hash = PyObject_Hash(target);
        if (hash == -1)
            return -1;
        for (k = (size_t)hash, g = -1; b->group_capacity; k++) {
            index = b->group_slots[k & (b->group_capacity - 1)];
            if (index == 0)
                break;
            if (b->groups[index - 1].hash == hash
                && same_text(b->groups[index - 1].target, target)) {
                g = index - 1;
                break;
            }
        }
        if (g < 0) { /* a new target: a new group, and the pair is new */
            if (batch_index_room(b, 0) < 0
                || array_room((void **)&b->groups, b->n_groups, &b->cap_groups, sizeof(Group)) < 0)
                return -1;
            g = b->n_groups++;
            b->groups[g].target = Py_NewRef(target);
            b->groups[g].hash = hash;
            b->groups[g].count = 0;
            for (k = (size_t)hash; b->group_slots[k & (b->group_capacity - 1)]; k++)
                ;
            b->group_slots[k & (b->group_capacity - 1)] = g + 1;
        }
    }
    argument_hash = PyObject_Hash(argument);
    if (argument_hash == -1)
        return -1;
    for (k = pair_slot_hash(argument_hash, g); b->pair_capacity; k++) {
        index = b->pair_slots[k & (b->pair_capacity - 1)];
        if (index == 0)
            break;
        if (b->pairs[index - 1].hash == argument_hash && b->pairs[index - 1].group == g
            && same_text(b->pairs[index - 1].argument, argument))
            return 0;
    }
    if (batch_index_room(b, 1) < 0
        || array_room((void **)&b->pairs, b->n_pairs, &b->cap_pairs, sizeof(Pair)) < 0)
        return -1;
    index = b->n_pairs++;
    b->pairs[index].argument = Py_NewRef(argument);
    b->pairs[index].hash = argument_hash;
    b->pairs[index].group = g;
    for (k = pair_slot_hash(argument_hash, g); b->pair_slots[k & (b->pair_capacity - 1)]; k++)
        ;
    b->pair_slots[k & (b->pair_capacity - 1)] = index + 1;
    b->groups[g].count++;
    b->last_group = g;
    return 1;
}

/* Forget the pairs. An index grown large by one long batch is dropped rather than cleared
 * again and again for the small batches after it. */
static void batch_clear(Batch *b)
{
    Py_ssize_t i;
    for (i = 0; i < b->n_groups; i++)
        Py_DECREF(b->groups[i].target);
    for (i = 0; i < b->n_pairs; i++)
        Py_DECREF(b->pairs[i].argument);
    if (b->group_capacity > 64 && (size_t)b->n_groups * 8 < b->group_capacity) {
        PyMem_Free(b->group_slots);
        b->group_slots = NULL;
        b->group_capacity = 0;
    }
    else if (b->n_groups) {
        memset(b->group_slots, 0, b->group_capacity * sizeof(Py_ssize_t));
    }
    if (b->pair_capacity > 64 && (size_t)b->n_pairs * 8 < b->pair_capacity) {
        PyMem_Free(b->pair_slots);
        b->pair_slots = NULL;
        b->pair_capacity = 0;
    }
    else if (b->n_pairs) {
        memset(b->pair_slots, 0, b->pair_capacity * sizeof(Py_ssize_t));
    }
    b->n_groups = b->n_pairs = 0;
    b->last_group = -1;
    b->family.count = 0;
    Py_CLEAR(b->run.target);
}

static void batch_free(Batch *b)
{
    batch_clear(b);
    PyMem_Free(b->groups);
    PyMem_Free(b->pairs);
    PyMem_Free(b->group_slots);
    PyMem_Free(b->pair_slots);
    PyMem_Free(b->family.text);
    Py_CLEAR(b->family_type);
    Py_CLEAR(b->rows_type);
    memset(b, 0, sizeof(*b));
    b->last_group = -1;
}

/* Whether raw value bytes are their own text (decode() copies them): ASCII, no "&", CR or
 * NUL. */
static int plain_value(const unsigned char *s, Py_ssize_t len)
{
    Py_ssize_t i = 0;
#ifdef __SSE2__
    for (; i + 16 <= len; i += 16) { /* (a byte's high bit, or a mark of "&", CR or NUL) */
        __m128i v = load16(s + i);
        __m128i odd = _mm_or_si128(_mm_or_si128(v, bytes_eq(v, '&')),
                                   _mm_or_si128(bytes_eq(v, '\r'), bytes_eq(v, '\0')));
        if (_mm_movemask_epi8(odd))
            return 0;
    }
#endif
    for (; i < len; i++)
        if (!(PLAIN[s[i]] & P_VALUE))
            return 0;
    return 1;
}

#define FAMILY_MAX_DIGITS 15 /* validation._MAX_DIGITS: numbers below 10**15 */

/* The decimal digits of n (n >= 0) into buf (room for 20), their count. */
static Py_ssize_t format_number(long long n, char *buf)
{
    char tmp[20];
    Py_ssize_t len = 0, k;
    do {
        tmp[len++] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    for (k = 0; k < len; k++)
        buf[k] = tmp[len - 1 - k];
    return len;
}

/* A raw value's head and canonical number (1 to FAMILY_MAX_DIGITS digits, no leading
 * zero), if it is plain and has one: its head's length, or -1. */
static Py_ssize_t numbered_head(const unsigned char *s, Py_ssize_t len, long long *number)
{
    Py_ssize_t digits = 0, k;
    long long n = 0;
    while (digits < len && digits <= FAMILY_MAX_DIGITS && is_digit(s[len - 1 - digits]))
        digits++;
    if (digits == 0 || digits > FAMILY_MAX_DIGITS || (digits > 1 && s[len - digits] == '0')
        || !plain_value(s, len))
        return -1;
    for (k = len - digits; k < len; k++)
        n = n * 10 + (s[k] - '0');
    *number = n;
    return len - digits;
}

/* A (target, argument) pair of raw value bytes taken into the batch's family: 1 taken (it
 * opens the family of an empty batch, or is its next row), 0 not (the caller adds it as a
 * pair, after family_spill), -1 on error. */
static int family_take(Batch *b, const unsigned char *target, Py_ssize_t target_len,
                       const unsigned char *argument, Py_ssize_t argument_len)
{
    FamilyRun *f = &b->family;
    Py_ssize_t digits, prefix_len, need;
    long long n;
    char buf[20];
    if (f->count) { /* the next row: prefix + str(first + count), and its argument */
        long long next = f->first + f->count;
        Py_ssize_t len = format_number(next, buf);
        if (len > FAMILY_MAX_DIGITS || target_len != f->prefix_len + len
            || memcmp(target, f->text, (size_t)f->prefix_len) != 0
            || memcmp(target + f->prefix_len, buf, (size_t)len) != 0)
            return 0;
        if (f->numbered
                ? (argument_len != f->argument_len + len
                   || memcmp(argument, f->text + f->prefix_len, (size_t)f->argument_len) != 0
                   || memcmp(argument + f->argument_len, buf, (size_t)len) != 0)
                : (argument_len != f->argument_len
                   || memcmp(argument, f->text + f->prefix_len, (size_t)argument_len) != 0))
            return 0;
        f->count++;
        return 1;
    }
    if (b->n_pairs || b->family_type == NULL || b->run.target != NULL)
        return 0;
    prefix_len = numbered_head(target, target_len, &n);
    if (prefix_len < 0 || !plain_value(argument, argument_len))
        return 0;
    digits = target_len - prefix_len;
    /* An argument that ends in the target's own number (and no longer number) is numbered. */
    f->numbered = argument_len >= digits
                  && memcmp(argument + argument_len - digits, target + prefix_len,
                            (size_t)digits) == 0
                  && (argument_len == digits || !is_digit(argument[argument_len - digits - 1]));
    f->argument_len = f->numbered ? argument_len - digits : argument_len;
    need = prefix_len + f->argument_len;
    if (need > f->cap || f->text == NULL) {
        unsigned char *bigger = PyMem_Realloc(f->text, (size_t)(need ? need : 1));
        if (bigger == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        f->text = bigger;
        f->cap = need;
    }
    memcpy(f->text, target, (size_t)prefix_len);
    memcpy(f->text + prefix_len, argument, (size_t)f->argument_len);
    f->prefix_len = prefix_len;
    f->first = n;
    f->count = 1;
    return 1;
}

/* ASCII bytes as a str, and bytes + a number's digits as one. */
static PyObject *ascii_str(const unsigned char *s, Py_ssize_t len, const char *digits,
                           Py_ssize_t n_digits)
{
    PyObject *text = PyUnicode_New(len + n_digits, 127);
    if (text != NULL && len)
        memcpy(PyUnicode_1BYTE_DATA(text), s, (size_t)len);
    if (text != NULL && n_digits)
        memcpy(PyUnicode_1BYTE_DATA(text) + len, digits, (size_t)n_digits);
    return text;
}

/* The family's rows as the batch's pairs, in order (a pair that does not continue it came,
 * or the stretch ends with one row): the batch then goes on as usual. */
static int family_spill(Batch *b)
{
    FamilyRun *f = &b->family;
    long long k, count = f->count;
    PyObject *constant = NULL;
    int result = 0;
    f->count = 0; /* (batch_add_text adds the pairs now) */
    if (!f->numbered) {
        constant = ascii_str(f->text + f->prefix_len, f->argument_len, NULL, 0);
        if (constant == NULL)
            return -1;
    }
    for (k = 0; k < count && result >= 0; k++) {
        char buf[20];
        Py_ssize_t len = format_number(f->first + k, buf);
        PyObject *target = ascii_str(f->text, f->prefix_len, buf, len);
        PyObject *argument = constant != NULL
                                 ? Py_NewRef(constant)
                                 : ascii_str(f->text + f->prefix_len, f->argument_len, buf, len);
        result = target == NULL || argument == NULL ? -1 : batch_add_text(b, target, argument);
        Py_XDECREF(target);
        Py_XDECREF(argument);
    }
    Py_XDECREF(constant);
    return result < 0 ? -1 : 0;
}

static int run_close(Batch *b);

/* Add a pair of text (after the family or run open, if any, is given out or spilled). */
static int batch_add(Batch *b, PyObject *target, PyObject *argument)
{
    if (b->family.count && family_spill(b) < 0)
        return -1;
    if (b->run.target != NULL && run_close(b) < 0)
        return -1;
    return batch_add_text(b, target, argument);
}

static int run_head_is(const RowRun *r, int k, const unsigned char *head, Py_ssize_t len)
{
    return r->head_at[k + 1] - r->head_at[k] == len
           && memcmp(r->heads + r->head_at[k], head, (size_t)len) == 0;
}

/* The run's pairs (of target) from (row, head) on, in order, added to the batch as text. */
static int run_spill(Batch *b, PyObject *target, long long row, int head)
{
    RowRun *r = &b->run;
    long long last_row = r->first + r->rows; /* the current row, of pos heads */
    for (; row <= last_row; row++, head = 0) {
        int end = row == last_row ? r->pos : r->n_heads;
        for (; head < end; head++) {
            char buf[20];
            Py_ssize_t len = format_number(row, buf);
            PyObject *argument = ascii_str(r->heads + r->head_at[head],
                                           r->head_at[head + 1] - r->head_at[head], buf, len);
            int result = argument == NULL ? -1 : batch_add_text(b, target, argument);
            Py_XDECREF(argument);
            if (result < 0)
                return -1;
        }
    }
    return 0;
}

static int batch_flush_pairs(Batch *b, PyObject *out);

/* End the open run: two or more complete rows are given out (the batch's pairs before them
 * first) as a Rows, the rest of the current row becoming pairs after it; a shorter run
 * becomes pairs. The run is closed after, even on error. */
static int run_close(Batch *b)
{
    RowRun *r = &b->run;
    long long complete = r->rows + (r->pos == r->n_heads);
    PyObject *target = r->target; /* (the run is closed now: its fields are read below) */
    int result = -1;
    r->target = NULL;
    if (complete < 2 || b->out == NULL) {
        result = run_spill(b, target, r->first, 0);
    }
    else {
        PyObject *heads = PyTuple_New(r->n_heads), *rows;
        int k;
        for (k = 0; heads != NULL && k < r->n_heads; k++) {
            PyObject *head = ascii_str(r->heads + r->head_at[k], r->head_at[k + 1] - r->head_at[k],
                                       NULL, 0);
            if (head == NULL)
                Py_CLEAR(heads);
            else
                PyTuple_SET_ITEM(heads, k, head);
        }
        rows = heads == NULL ? NULL
                             : PyObject_CallFunction(b->rows_type, "ONLL", target, heads,
                                                     r->first, complete);
        if (rows != NULL && (b->before_out == NULL || b->before_out(b->before_out_ctx) == 0)
            && batch_flush_pairs(b, b->out) == 0 && PyList_Append(b->out, rows) == 0)
            result = r->pos == r->n_heads ? 0 : run_spill(b, target, r->first + complete, 0);
        Py_XDECREF(rows);
    }
    Py_DECREF(target);
    return result;
}

static int run_take(Batch *b, PyObject *target, const unsigned char *argument,
                    Py_ssize_t argument_len);

/* A family that the pair after it did not continue: spilled into pairs, or, when it has one
 * row, that pair given to run_take (a grid's first command, GridView1 raising Edit$0, opens a
 * family of targets as well as a run of commands: the pair after it tells which). */
static int family_settle(Batch *b)
{
    FamilyRun *f = &b->family;
    char buf[20];
    Py_ssize_t len, argument_len;
    unsigned char small[256];
    PyObject *target, *argument;
    int taken;
    if (f->count != 1 || f->argument_len + 20 > (Py_ssize_t)sizeof(small))
        return family_spill(b);
    len = format_number(f->first, buf);
    argument_len = f->argument_len;
    memcpy(small, f->text + f->prefix_len, (size_t)argument_len);
    if (f->numbered) {
        memcpy(small + argument_len, buf, (size_t)len);
        argument_len += len;
    }
    target = ascii_str(f->text, f->prefix_len, buf, len);
    if (target == NULL)
        return -1;
    f->count = 0;
    taken = run_take(b, target, small, argument_len);
    if (taken == 0) {
        argument = ascii_str(small, argument_len, NULL, 0);
        taken = argument == NULL ? -1 : batch_add_text(b, target, argument);
        Py_XDECREF(argument);
    }
    Py_DECREF(target);
    return taken < 0 ? -1 : 0;
}

/* A pair whose argument (raw bytes) may belong to a run: 1 taken by the open run, or opening
 * one; 0 not (a run open before is closed: the caller adds the pair); -1 on error. */
static int run_take(Batch *b, PyObject *target, const unsigned char *argument,
                    Py_ssize_t argument_len)
{
    RowRun *r = &b->run;
    long long n;
    Py_ssize_t head_len;
    int k;
    if (b->rows_type == NULL)
        return 0;
    if (b->family.count && family_settle(b) < 0) /* (not continued by this pair) */
        return -1;
    head_len = numbered_head(argument, argument_len, &n);
    if (r->target != NULL) {
        if (head_len >= 0 && (r->target == target || same_text(r->target, target))) {
            long long row = r->first + r->rows;
            if (r->learning && n == row && r->n_heads < RUN_MAX_HEADS
                && r->head_at[r->n_heads] + head_len <= RUN_HEADS_CAP) {
                for (k = 0; k < r->n_heads && !run_head_is(r, k, argument, head_len); k++)
                    ;
                if (k == r->n_heads) { /* a new head of the first row */
                    memcpy(r->heads + r->head_at[k], argument, (size_t)head_len);
                    r->head_at[k + 1] = r->head_at[k] + head_len;
                    r->n_heads++;
                    r->pos++;
                    return 1;
                }
            }
            if (r->pos == r->n_heads && n == row + 1 && n < 1000000000000000LL
                && run_head_is(r, 0, argument, head_len)) { /* the next row */
                r->rows++;
                r->pos = 1;
                r->learning = 0;
                return 1;
            }
            if (!r->learning && r->pos < r->n_heads && n == row
                && run_head_is(r, r->pos, argument, head_len)) {
                r->pos++;
                return 1;
            }
        }
        if (run_close(b) < 0)
            return -1;
    }
    if (head_len < 0 || head_len > RUN_HEADS_CAP)
        return 0;
    r->target = Py_NewRef(target);
    memcpy(r->heads, argument, (size_t)head_len);
    r->head_at[0] = 0;
    r->head_at[1] = head_len;
    r->n_heads = r->pos = r->learning = 1;
    r->first = n;
    r->rows = 0;
    return 1;
}

/* The batch, if any, as items appended to out: the run open given out or spilled
 * (run_close), then its pairs (batch_flush_pairs); the batch is empty after, even on error. */
static int batch_flush(Batch *b, PyObject *out)
{
    if (b->run.target != NULL) {
        PyObject *kept = b->out;
        int result;
        b->out = out;
        result = run_close(b);
        b->out = kept;
        if (result < 0) {
            batch_clear(b);
            return -1;
        }
    }
    return batch_flush_pairs(b, out);
}

/* The batch's pairs, if any, as a {target: [argument, ...]} dict appended to out, or as a
 * Family when it is one of two or more rows; the batch is empty after, even on error. */
static int batch_flush_pairs(Batch *b, PyObject *out)
{
    PyObject *dict;
    Py_ssize_t i;
    int result = -1;
    if (b->family.count >= 2) {
        FamilyRun *f = &b->family;
        PyObject *family = PyObject_CallFunction(
            b->family_type, "NNOLL",
            ascii_str(f->text, f->prefix_len, NULL, 0),
            ascii_str(f->text + f->prefix_len, f->argument_len, NULL, 0),
            f->numbered ? Py_True : Py_False, f->first, f->count);
        f->count = 0;
        if (family == NULL)
            return -1;
        result = PyList_Append(out, family);
        Py_DECREF(family);
        return result;
    }
    if (b->family.count && family_spill(b) < 0) {
        batch_clear(b);
        return -1;
    }
    if (b->n_pairs == 0)
        return 0;
    dict = PyDict_New();
    if (dict == NULL)
        goto done;
    for (i = 0; i < b->n_groups; i++) {
        Group *group = &b->groups[i];
        PyObject *list = PyList_New(group->count);
        if (list == NULL || PyDict_SetItem(dict, group->target, list) < 0) {
            Py_XDECREF(list);
            goto done;
        }
        Py_DECREF(list); /* (the dict holds it) */
        group->list = list;
        group->filled = 0;
    }
    for (i = 0; i < b->n_pairs; i++) {
        Group *group = &b->groups[b->pairs[i].group];
        PyList_SET_ITEM(group->list, group->filled++, Py_NewRef(b->pairs[i].argument));
    }
    result = PyList_Append(out, dict);
done:
    Py_XDECREF(dict);
    batch_clear(b);
    return result;
}

/* ------------------------------------------------------------------ tags and attributes */

typedef struct {
    Py_ssize_t name_start, name_end, value_start, value_end; /* value_start < 0: no value */
} Attr;

/* Attributes the rewriter reads, by index in TagInfo.attrs (their bit in TagInfo.seen). */
enum {
    AT_ID, AT_NAME, AT_FORMACTION, AT_TARGET, AT_AUTO, AT_ARGUMENT, AT_FORM, AT_FORMMETHOD,
    AT_HREF, AT_ONCLICK, AT_ONCHANGE, AT_PANEL, N_AT
};
#define SEEN(at) (1 << (at))
/* Where a submit button may send its form: the rewriter decides (see collect_pairs). */
#define A_SUBMITS (SEEN(AT_FORMACTION) | SEEN(AT_FORM) | SEEN(AT_FORMMETHOD))
/* A tag without any of these names has no postback pairs and is not returned for itself
 * (see collect_pairs): found by name as the tag is read, no text search needed. */
#define A_POSTBACK (A_SUBMITS | SEEN(AT_TARGET) | SEEN(AT_AUTO))
/* Where ASP.NET renders a postback reference (see calls_postback). */
#define A_SCRIPTED (SEEN(AT_HREF) | SEEN(AT_ONCLICK) | SEEN(AT_ONCHANGE))

typedef struct {
    Py_ssize_t start, end;           /* "<" .. just past ">" */
    Py_ssize_t name_start, name_len; /* raw name bytes (not lowercased) */
    /* The name compared with others: the raw bytes (compared lowercased), or for a name with
     * non-ASCII or NUL bytes the UTF-8 of its decoded text, so that two spellings which
     * decode alike (invalid bytes become U+FFFD) are one name, as in the Python engine. */
    const unsigned char *key;
    Py_ssize_t key_len;
    Py_ssize_t area_start, area_end; /* attribute text: after the name, up to "/>" or ">" */
    int is_end, self_closing, flags, odd_name;
    int known; /* index in KNOWN, or -1 */
    int seen;  /* SEEN() bits of the attributes in attrs */
    Attr attrs[N_AT]; /* the first attribute of each of those names, where seen */
    uint32_t hash;
} TagInfo;

/* ------------------------------------------------------------------ the scanner object */

typedef struct {
    PyObject_HEAD
    char *encoding;
    int utf8;
    PyObject *names;        /* tuple of bytes, or NULL: every tag */
    char wanted_known[N_KNOWN]; /* which names of KNOWN are in names */
    int wanted_unknown;         /* whether names has any name not in KNOWN */
    PyObject *hints;        /* tuple of bytes (with "form" in postbacks mode: see init) */
    Py_ssize_t n_hints;
    unsigned char hint_first[256]; /* first characters of the hints, both cases */
    int postbacks;
    PyObject *decode_text;  /* callable(bytes) -> str */
    PyObject *decode_value; /* callable(bytes) -> str */
    PyTypeObject *tag_type; /* html_scan.Tag: a tuple subclass, made here without a call */
    /* tree model (tree._Tree) */
    Node *stack;
    Py_ssize_t stack_len, stack_cap;
    int in_select, select_in_table, form_open, plaintext;
    int started_foreign; /* tree_start's last tag made a foreign element (tree._Tree) */
    /* the construct the last piece ended inside (_PythonEngine._carry): CARRY_*, the script
     * state, the raw-text element (index in KNOWN) */
    int carry, carry_state, carry_raw;
    /* a tag the last piece ended inside (the next data starts with it): how far it was read
     * and the tokenizer's state there (_PythonEngine._pending, tag_progress) */
    int tag_pending, tag_state;
    Py_ssize_t tag_pos;
    Py_ssize_t table_depth;
    Counts counts;                 /* open elements by name, names not in KNOWN */
    Py_ssize_t known_counts[N_KNOWN]; /* and those in KNOWN */
    /* restart_into's memory (tree._Tree.changed, copied_into; _PythonEngine._fresh): this
     * scanner's number; once it restarted another, that one's number, the slots of counts
     * whose count changed since (indices; valid while the capacity is tracked_capacity);
     * whether this one was restarted and has not scanned since, and by which */
    unsigned long long serial, copied_into, copied_from;
    int tracking, fresh;
    size_t tracked_capacity;
    size_t *changed;
    size_t n_changed, changed_cap;
    /* postbacks mode: the pairs met since the last returned tag, across calls of scan */
    Batch batch;
    PyObject *key_owner; /* holds the current tag's decoded key, when it has one */
    /* same_target's memory: the raw bytes of the last target, and their text */
    unsigned char *last_target_raw;
    Py_ssize_t last_target_len, last_target_cap;
    PyObject *last_target_text;
    /* a partial postback (_PythonEngine._panels, _regions, _opened; see watch_panels): the
     * ids of the panels asked for (a frozenset, NULL before watch_panels), how many, the
     * regions open, across calls of scan, and the ids that opened one (a set of str, NULL
     * until one did): only an id's first start tag opens a region (open_panel) */
    PyObject *panels;
    Py_ssize_t n_panels;
    Region *regions;
    Py_ssize_t n_regions, regions_cap;
    PyObject *opened;
    /* whether a start tag's AT_* attributes are noted as it is read (see tag_end): in
     * postbacks mode, and once panels are watched (whether a tag opens one) */
    int classify;
    /* cuts mode (see cut_tag): the names of the elements open, lowercased, one after the
     * other in cut_names, each element's [at, len) in cut_open; and the last cut made */
    int cuts;
    unsigned char *cut_names;
    Py_ssize_t cut_names_len, cut_names_cap;
    CutName *cut_open;
    Py_ssize_t n_cut_open, cut_open_cap;
    Py_ssize_t last_cut;
    /* bare forms (see emit_tag): html_scan.BareForm, or NULL: off; and the start tag of a
     * plain post form held back until its end tag shows whether anything came between (only
     * within one call of scan: its offsets are into that call's data) */
    PyTypeObject *bare_type;
    /* html_scan.PanelEnd (see count_regions), or NULL: no panels can be watched */
    PyTypeObject *panel_end_type;
    int bare_pending;
    TagInfo bare_tag;
    const unsigned char *bare_data; /* the data bare_tag's offsets are into */
    Attr bare_action;               /* its first action attribute, if bare_has_action */
    int bare_has_action;
} Scanner;

static int stack_push(Scanner *t, int ns, const unsigned char *s, Py_ssize_t len, int flags,
                      int html_ip)
{
    Node *node;
    Py_ssize_t j;
    if (t->stack_len == t->stack_cap) {
        Py_ssize_t cap = t->stack_cap ? t->stack_cap * 2 : 16;
        Node *bigger = PyMem_Realloc(t->stack, (size_t)cap * sizeof(Node));
        if (bigger == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        t->stack = bigger;
        t->stack_cap = cap;
    }
    node = &t->stack[t->stack_len];
    node->name = PyMem_Malloc(len > 0 ? (size_t)len : 1);
    if (node->name == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (j = 0; j < len; j++)
        node->name[j] = lower(s[j]);
    node->len = len;
    node->ns = ns;
    node->flags = flags;
    node->html_ip = html_ip || (ns == NS_SVG && (flags & F_SVG_HTML_IP));
    node->text_ip = ns == NS_MATH && (flags & F_MATH_TEXT_IP);
    node->boundary = node->html_ip || node->text_ip
                     || (ns == NS_MATH && (flags & F_ANNOTATION_XML))
                     || (ns == NS_HTML && (flags & F_HTML_BOUNDARY));
    t->stack_len++;
    return 0;
}

static void stack_truncate(Scanner *t, Py_ssize_t keep)
{
    while (t->stack_len > keep)
        PyMem_Free(t->stack[--t->stack_len].name);
}

static void stack_remove(Scanner *t, Py_ssize_t i)
{
    PyMem_Free(t->stack[i].name);
    memmove(&t->stack[i], &t->stack[i + 1], (size_t)(t->stack_len - i - 1) * sizeof(Node));
    t->stack_len--;
}

static int node_is(const Node *node, const unsigned char *s, Py_ssize_t len)
{
    Py_ssize_t j;
    if (node->len != len)
        return 0;
    for (j = 0; j < len; j++)
        if (node->name[j] != lower(s[j]))
            return 0;
    return 1;
}

/* The names of AT_*, by index. */
static const char *const AT_NAMES[N_AT] = {
    "id", "name", "formaction", "data-postback", "data-autopostback", "data-postback-argument",
    "form", "formmethod", "href", "onclick", "onchange", "data-update-panel",
};

/* The names of AT_* of at most 16 bytes, by their words (name_words): a hash table (index:
 * AT_* + 1; 0 an empty slot) looked into once per attribute of every tag, where most names
 * are none of these and end the probe on an empty slot. */
#define AT_SLOTS 64
static struct {
    uint64_t words[2];
    Py_ssize_t len;
    int index;
} at_slots[AT_SLOTS];

static inline unsigned at_hash(uint64_t w0, uint64_t w1)
{
    return (unsigned)(((w0 ^ (w1 * 0xC2B2AE3D27D4EB4Full)) * 0x9E3779B97F4A7C15ull) >> 58);
}

static void init_at_slots(void)
{
    int at;
    for (at = 0; at < N_AT; at++) {
        Py_ssize_t len = (Py_ssize_t)strlen(AT_NAMES[at]);
        uint64_t words[2] = {0, 0};
        unsigned slot;
        if (len > 16)
            continue; /* (classify_attr finds those by length) */
        memcpy(words, AT_NAMES[at], (size_t)len);
        for (slot = at_hash(words[0], words[1]); at_slots[slot].index; slot = (slot + 1) % AT_SLOTS)
            ;
        at_slots[slot].words[0] = words[0];
        at_slots[slot].words[1] = words[1];
        at_slots[slot].len = len;
        at_slots[slot].index = at + 1;
    }
}

/* The AT_* index of an attribute name of at most 16 bytes, given lowercased and zero-padded
 * as two words, or -1. */
static inline int classify_words(uint64_t w0, uint64_t w1, Py_ssize_t len)
{
    unsigned slot;
    for (slot = at_hash(w0, w1); at_slots[slot].index; slot = (slot + 1) % AT_SLOTS)
        if (at_slots[slot].words[0] == w0 && at_slots[slot].words[1] == w1
            && at_slots[slot].len == len)
            return at_slots[slot].index - 1;
    return -1;
}

/* The AT_* index of the attribute name s[start:end] (s holding n bytes), or -1. */
static inline int classify_attr(const unsigned char *s, Py_ssize_t n, Py_ssize_t start,
                                Py_ssize_t end)
{
    const unsigned char *name = s + start;
    Py_ssize_t len = end - start;
    uint64_t words[2];
    if (len > 16) {
        if (len == 17)
            return eq_ci_long(name, len, "data-autopostback") ? AT_AUTO
                   : eq_ci_long(name, len, "data-update-panel") ? AT_PANEL : -1;
        return len == 22 && eq_ci_long(name, len, "data-postback-argument") ? AT_ARGUMENT : -1;
    }
    if (start + 16 <= n) { /* (lowercased a word at a time, as read_tag does) */
        words[0] = lower8(load8(name)) & prefix8(len);
        words[1] = len > 8 ? lower8(load8(name + 8)) & prefix8(len - 8) : 0;
    }
    else {
        unsigned char bytes[16] = {0};
        Py_ssize_t i;
        for (i = 0; i < len; i++)
            bytes[i] = lower(name[i]);
        words[0] = load8(bytes);
        words[1] = load8(bytes + 8);
    }
    return classify_words(words[0], words[1], len);
}

#if defined(__GNUC__) || defined(__clang__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#define NOINLINE __attribute__((noinline))
#else
#define ALWAYS_INLINE inline
#define NOINLINE
#endif

/* The tokenizer's attribute states from just past the tag name (tokenizer._TAG_BODY):
 * returns the offset of the closing ">", or -1 when the document ends first. On the way it
 * fills the tag's self_closing, and with classify (postbacks mode, or panels watched: no other
 * reads them) its seen and attrs. Every tag of a page goes through here: inlined in read_tag. */
static ALWAYS_INLINE Py_ssize_t tag_end(const unsigned char *s, Py_ssize_t n, Py_ssize_t p,
                                        TagInfo *tag, int classify)
{
    tag->seen = 0;
    for (;;) {
        Py_ssize_t name_start, name_end, q;
        int at = -1;
        unsigned char c;
        while (p < n && is_ws(s[p]))
            p++;
        if (p >= n)
            return -1;
        c = s[p];
        if (c == '>') {
            tag->self_closing = 0;
            return p;
        }
        if (c == '/') {
            if (p + 1 < n && s[p + 1] == '>') {
                tag->self_closing = 1;
                return p + 1;
            }
            p++;
            continue;
        }
        name_start = p; /* its first character may be anything else, "=" too */
        p++;
#ifdef __SSE2__
        /* 16 bytes at a time: attribute names are longer than tag names (class,
         * data-postback-argument), their lengths vary more, and a byte loop's exit costs
         * a mispredicted branch (measured: realistic 92 -> 88 µs) */
        while (p + 16 <= n) {
            unsigned stops = attr_name_stops(load16(s + p));
            if (!stops) {
                p += 16;
                continue;
            }
            p += __builtin_ctz(stops);
            if (CLS[s[p]] & C_ATTR_NAME_STOP)
                break;
            p++; /* (a control byte: part of the name) */
        }
#endif
        for (; p < n && !(CLS[s[p]] & C_ATTR_NAME_STOP); p++)
            ;
        name_end = p;
        if (classify)
            at = classify_attr(s, n, name_start, name_end);
        if (at >= 0) {
            if (!(tag->seen & SEEN(at))) { /* the first of duplicated names wins */
                tag->seen |= SEEN(at);
                tag->attrs[at].name_start = name_start;
                tag->attrs[at].name_end = name_end;
                tag->attrs[at].value_start = -1;
            }
            else {
                at = -1;
            }
        }
        q = p;
        while (q < n && is_ws(s[q]))
            q++;
        if (q < n && s[q] == '=') {
            Py_ssize_t value_start, value_end;
            q++;
            while (q < n && is_ws(s[q]))
                q++;
            if (q < n && (s[q] == '"' || s[q] == '\'')) {
                Py_ssize_t close = find_byte(s, q + 1, n, s[q]);
                if (close < 0)
                    return -1; /* an unterminated quoted value runs to the end */
                value_start = q + 1;
                value_end = close;
                p = value_end + 1;
            }
            else {
                value_start = q;
                for (; q < n && !(CLS[s[q]] & C_UNQUOTED_STOP); q++)
                    ;
                value_end = p = q;
            }
            if (at >= 0) {
                tag->attrs[at].value_start = value_start;
                tag->attrs[at].value_end = value_end;
            }
        }
    }
}

/* The tokenizer's states inside a tag (tokenizer._T_*), for a tag still open when a piece
 * ends: tag name, before attribute name (also after "/" and after a quoted value), attribute
 * name, after attribute name, before attribute value, double/single-quoted, unquoted value. */
enum { T_NAME, T_BEFORE, T_ANAME, T_AFTER, T_VALUE, T_DQ, T_SQ, T_UNQ };

/* tokenizer._tag_progress: read a tag on from p in *state; returns the offset just past its
 * ">", or -1 when the data ends first (*state is then the state there). */
static Py_ssize_t tag_progress(const unsigned char *s, Py_ssize_t n, Py_ssize_t p, int *state_io)
{
    int state = *state_io;
    for (; p < n; p++) {
        unsigned char c = s[p];
        if (state == T_DQ || state == T_SQ) {
            Py_ssize_t q = find_byte(s, p, n, state == T_DQ ? '"' : '\'');
            if (q < 0)
                break;
            p = q;
            state = T_BEFORE; /* (after a quoted value: as before an attribute name) */
            continue;
        }
        if (c == '>')
            return p + 1;
        switch (state) {
        case T_NAME:
            if (CLS[c] & C_NAME_STOP)
                state = T_BEFORE; /* whitespace, or "/" after the tag name */
            break;
        case T_UNQ:
            if (is_ws(c))
                state = T_BEFORE;
            break;
        case T_BEFORE:
            if (!(CLS[c] & C_BETWEEN_ATTRS))
                state = T_ANAME; /* any other byte begins a name, even "=" or a quote */
            break;
        case T_VALUE:
            if (c == '"')
                state = T_DQ;
            else if (c == '\'')
                state = T_SQ;
            else if (!is_ws(c))
                state = T_UNQ;
            break;
        default: /* T_ANAME, T_AFTER */
            if (c == '=')
                state = T_VALUE;
            else if (c == '/')
                state = T_BEFORE;
            else if (is_ws(c))
                state = T_AFTER;
            else if (state == T_AFTER)
                state = T_ANAME;
            break;
        }
    }
    *state_io = state;
    return -1;
}

/* A tag whose "<" is at start runs past the data: note how far it is read (the next data
 * starts with it), so that the next pieces read on instead of starting it again. */
static Py_ssize_t pend_tag(Scanner *self, const unsigned char *s, Py_ssize_t n, Py_ssize_t start)
{
    self->tag_state = T_NAME;
    tag_progress(s, n, start + (s[start + 1] == '/' ? 2 : 1), &self->tag_state);
    self->tag_pending = 1;
    self->tag_pos = n - start;
    return start;
}

/* The next attribute of an area (a tag already known to be complete); 0 at its end. */
static int next_attr(const unsigned char *s, Py_ssize_t *pos, Py_ssize_t limit, Attr *attr)
{
    Py_ssize_t p = *pos, q;
    for (;;) {
        while (p < limit && (CLS[s[p]] & C_BETWEEN_ATTRS))
            p++;
        if (p >= limit)
            return 0;
        attr->name_start = p++;
        while (p < limit && !(CLS[s[p]] & C_ATTR_NAME_STOP))
            p++;
        attr->name_end = p;
        attr->value_start = -1;
        q = p;
        while (q < limit && is_ws(s[q]))
            q++;
        if (q < limit && s[q] == '=') {
            q++;
            while (q < limit && is_ws(s[q]))
                q++;
            if (q < limit && (s[q] == '"' || s[q] == '\'')) {
                const unsigned char *close = memchr(s + q + 1, s[q], (size_t)(limit - q - 1));
                attr->value_start = q + 1;
                attr->value_end = close ? close - s : limit;
                p = close ? attr->value_end + 1 : limit;
            }
            else {
                attr->value_start = q;
                while (q < limit && !(CLS[s[q]] & C_UNQUOTED_STOP))
                    q++;
                attr->value_end = p = q;
            }
        }
        *pos = p;
        return 1;
    }
}

/* The first attribute named lit (lowercase ASCII) in the area: 1 found, 0 not. */
static int find_attr(const unsigned char *s, const TagInfo *tag, const char *lit, Attr *found)
{
    Py_ssize_t pos = tag->area_start;
    Attr attr;
    while (next_attr(s, &pos, tag->area_end, &attr)) {
        if (eq_ci(s + attr.name_start, attr.name_end - attr.name_start, lit)) {
            *found = attr;
            return 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ decoding */

/* The spec's replacements for numeric references to C1 controls (attributes._cp1252_table):
 * the cp1252 character of each code 0x80-0x9F, 0 where cp1252 has none (the code stays).
 * Filled from the codec when the module loads, as the Python engine fills its table. */
static Py_UCS4 C1_REPLACEMENTS[32];

/* A named reference the C code replaces itself: "&name;" exactly (attributes._CHARREF reads
 * the longest run of name characters, and ";" ends the run). Any other name needs the
 * whole table and its legacy-prefix rules: attributes._value decodes that value. */
static const struct { const char *name; Py_ssize_t len; Py_UCS4 code; } COMMON_REFS[] = {
    {"amp", 3, '&'}, {"quot", 4, '"'}, {"lt", 2, '<'}, {"gt", 2, '>'}, {"apos", 4, '\''},
    {"nbsp", 4, 0xA0},
};

/* A character attributes._CHARREF's name run stops at: \t \n \f space < & # ; */
static inline int ends_ref_name(Py_UCS4 c)
{
    return c == '\t' || c == '\n' || c == '\f' || c == ' ' || c == '<' || c == '&' || c == '#'
           || c == ';';
}

static inline int digit_value(Py_UCS4 c, int hex)
{
    if (c >= '0' && c <= '9')
        return (int)(c - '0');
    if (hex && (c | 0x20) >= 'a' && (c | 0x20) <= 'f')
        return (int)((c | 0x20) - 'a' + 10);
    return -1;
}

/* The reference at text[amp] ("&"), as attributes._CHARREF and _replace_charref read it:
 * 1 with its character and its length, 0 when it is no reference ("&" stays), -1 when it
 * is one this code does not decode (a name other than COMMON_REFS, or a number of more
 * than 15 digits: Python's int() decides those). */
static int read_charref(int kind, const void *text, Py_ssize_t len, Py_ssize_t amp,
                        Py_UCS4 *code, Py_ssize_t *ref_len)
{
    Py_ssize_t k = amp + 1, first;
    Py_UCS4 c;
    size_t r;
    if (k >= len)
        return 0;
    c = PyUnicode_READ(kind, text, k);
    if (c == '#') {
        uint64_t number = 0;
        int hex = 0, digit;
        k++;
        if (k + 1 < len && (PyUnicode_READ(kind, text, k) | 0x20) == 'x'
            && digit_value(PyUnicode_READ(kind, text, k + 1), 1) >= 0) {
            hex = 1;
            k++;
        }
        else if (k >= len || digit_value(PyUnicode_READ(kind, text, k), 0) < 0) {
            return 0; /* "&#" without digits: no reference ("#" cannot begin a name) */
        }
        for (first = k; k < len && (digit = digit_value(PyUnicode_READ(kind, text, k), hex)) >= 0;
             k++) {
            if (k - first == 15)
                return -1;
            number = number * (hex ? 16 : 10) + (uint64_t)digit;
        }
        if (k < len && PyUnicode_READ(kind, text, k) == ';')
            k++;
        if (number == 0)
            *code = 0xFFFD;
        else if (number >= 0x80 && number <= 0x9F && C1_REPLACEMENTS[number - 0x80])
            *code = C1_REPLACEMENTS[number - 0x80];
        else if (number > 0x10FFFF || (number >= 0xD800 && number <= 0xDFFF))
            *code = 0xFFFD;
        else
            *code = (Py_UCS4)number;
        *ref_len = k - amp;
        return 1;
    }
    if (ends_ref_name(c))
        return 0; /* "&" before a character no name begins with */
    for (r = 0; r < sizeof(COMMON_REFS) / sizeof(COMMON_REFS[0]); r++) {
        Py_ssize_t m = COMMON_REFS[r].len, j;
        if (k + m >= len || PyUnicode_READ(kind, text, k + m) != ';')
            continue;
        for (j = 0; j < m && PyUnicode_READ(kind, text, k + j) == (Py_UCS4)COMMON_REFS[r].name[j];
             j++)
            ;
        if (j == m) {
            *code = COMMON_REFS[r].code;
            *ref_len = m + 2;
            return 1;
        }
    }
    return -1;
}

/* attributes._value's replacement of character references, on text (decoded, without CR or
 * NUL, with an "&"): the new text, or NULL without an exception when a reference is one
 * read_charref leaves to Python. */
static PyObject *replace_charrefs(PyObject *text)
{
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t len = PyUnicode_GET_LENGTH(text), i, out = 0, ref_len = 0;
    Py_UCS4 small[256], *buf = small, code = 0;
    PyObject *result = NULL;
    if (len > (Py_ssize_t)(sizeof(small) / sizeof(small[0]))) {
        buf = PyMem_Malloc((size_t)len * sizeof(Py_UCS4)); /* (the text never grows) */
        if (buf == NULL)
            return PyErr_NoMemory();
    }
    for (i = 0; i < len;) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        int found;
        if (c != '&') {
            buf[out++] = c;
            i++;
            continue;
        }
        found = read_charref(kind, data, len, i, &code, &ref_len);
        if (found < 0)
            goto done;
        if (found) {
            buf[out++] = code;
            i += ref_len;
        }
        else {
            buf[out++] = '&';
            i++;
        }
    }
    result = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf, out);
done:
    if (buf != small)
        PyMem_Free(buf);
    return result;
}

/* replace_charrefs for a value of ASCII bytes (which are its text), without making that text
 * first: the new text, or NULL without an exception when a reference gives a character
 * above U+00FF or is one read_charref leaves to Python (replace_charrefs or attributes._value
 * then decode it). An ASP.NET GridView link has four references: this is its common case. */
static PyObject *replace_charrefs_ascii(const unsigned char *s, Py_ssize_t len)
{
    unsigned char small[256], *buf = small;
    Py_ssize_t i = 0, out = 0, ref_len = 0;
    Py_UCS4 code = 0, max = 127;
    PyObject *result = NULL;
    if (len > (Py_ssize_t)sizeof(small)) {
        buf = PyMem_Malloc((size_t)len); /* (the text never grows) */
        if (buf == NULL)
            return PyErr_NoMemory();
    }
    while (i < len) {
        const unsigned char *amp = memchr(s + i, '&', (size_t)(len - i));
        Py_ssize_t run = amp == NULL ? len - i : amp - (s + i);
        int found;
        memcpy(buf + out, s + i, (size_t)run);
        out += run;
        i += run;
        if (i == len)
            break;
        found = read_charref(PyUnicode_1BYTE_KIND, s, len, i, &code, &ref_len);
        if (found < 0 || (found && code > 0xFF))
            goto done;
        if (found) {
            buf[out++] = (unsigned char)code;
            max = code > max ? code : max;
            i += ref_len;
        }
        else {
            buf[out++] = '&';
            i++;
        }
    }
    result = PyUnicode_New(out, max);
    if (result != NULL)
        memcpy(PyUnicode_1BYTE_DATA(result), buf, (size_t)out);
done:
    if (buf != small)
        PyMem_Free(buf);
    return result;
}

/* Decode a name (value 0) or an attribute value (value 1) as attributes._text and
 * attributes._value do: plain text here, character references here when they are common
 * ones, and the rare rest (CR, NUL, other references) by those Python functions. */
static PyObject *decode(Scanner *self, const unsigned char *s, Py_ssize_t len, int value)
{
    Py_ssize_t i = 0;
    int ascii = 1, amp = 0;
    PyObject *text, *raw, *replaced;
#ifdef __SSE2__
    for (; i + 16 <= len; i += 16) { /* (values run to hundreds of bytes) */
        __m128i v = load16(s + i);
        if (_mm_movemask_epi8(_mm_or_si128(bytes_eq(v, '\r'), bytes_eq(v, '\0'))))
            goto python;
        amp |= _mm_movemask_epi8(bytes_eq(v, '&'));
        ascii &= _mm_movemask_epi8(v) == 0;
    }
#endif
    for (; i < len; i++) {
        unsigned char c = s[i];
        if (c == '\r' || c == '\0')
            goto python;
        amp |= c == '&';
        ascii &= c < 0x80;
    }
    if (ascii && amp && value) {
        replaced = replace_charrefs_ascii(s, len);
        if (replaced != NULL || PyErr_Occurred())
            return replaced;
    }
    if (ascii) { /* (what PyUnicode_DecodeASCII does, without its checks again) */
        text = PyUnicode_New(len, 127);
        if (text != NULL)
            memcpy(PyUnicode_1BYTE_DATA(text), s, (size_t)len);
    }
    else if (self->utf8) {
        text = PyUnicode_DecodeUTF8((const char *)s, len, "replace");
    }
    else {
        text = PyUnicode_Decode((const char *)s, len, self->encoding, "replace");
    }
    if (!value || !amp || text == NULL)
        return text;
    replaced = replace_charrefs(text);
    Py_DECREF(text);
    if (replaced != NULL || PyErr_Occurred())
        return replaced;
python:
    raw = PyBytes_FromStringAndSize((const char *)s, len);
    if (raw == NULL)
        return NULL;
    text = PyObject_CallOneArg(value ? self->decode_value : self->decode_text, raw);
    Py_DECREF(raw);
    return text;
}

/* Tag and attribute names as str, by their lowercased bytes: a cache shared by the scanners
 * of the process (python_engine keeps its _NAME_CACHE for the same reason), for names of
 * plain ASCII without CR or NUL (which decode alike in every encoding the engine reads) of at
 * most NAME_CACHE_MAX bytes. A returned tag's name and its attributes' names then cost no
 * new string, and the dict of attributes reuses the hash each string keeps. Two ways a set,
 * the last used first: bounded, and two names of one set do not evict each other. */
#define NAME_CACHE_SETS 128
#define NAME_CACHE_MAX 24
typedef struct {
    uint64_t words[3]; /* the lowercased bytes, zero-padded */
    Py_ssize_t len;
    PyObject *text; /* NULL: an empty entry */
} NameEntry;
static NameEntry name_cache[NAME_CACHE_SETS][2];

static inline int name_entry_is(const NameEntry *e, const uint64_t words[3], Py_ssize_t len)
{
    return e->text != NULL && e->len == len && e->words[0] == words[0]
           && e->words[1] == words[1] && e->words[2] == words[2];
}

/* A lowercased name, decoded (bytes.lower() lowercases ASCII only). */
static PyObject *decode_name(Scanner *self, const unsigned char *s, Py_ssize_t len)
{
    unsigned char small[64] = {0}, *buf = small;
    PyObject *name;
    Py_ssize_t i;
    if (len <= NAME_CACHE_MAX) {
        uint64_t words[3], h;
        NameEntry *set, evicted;
        int plain = 1, k;
        for (k = 0; k < 3; k++) { /* (each word built in a register) */
            uint64_t word = 0;
            for (i = 8 * k; i < len && i < 8 * k + 8; i++) {
                unsigned char c = s[i];
                plain &= c < 0x80 && c != '\r' && c != '\0';
                word |= (uint64_t)lower(c) << (8 * (i & 7));
            }
            words[k] = word;
        }
        if (plain) {
            h = words[0] * 0x9E3779B97F4A7C15ull ^ words[1] * 0xC2B2AE3D27D4EB4Full
                ^ words[2] * 0x94D049BB133111EBull ^ (uint64_t)len;
            set = name_cache[(h ^ (h >> 29)) >> 57]; /* (the top 7 bits: 128 sets) */
            if (name_entry_is(&set[0], words, len))
                return Py_NewRef(set[0].text);
            if (name_entry_is(&set[1], words, len)) { /* the last used goes first */
                NameEntry hit = set[1];
                set[1] = set[0];
                set[0] = hit;
                return Py_NewRef(hit.text);
            }
            name = PyUnicode_New(len, 127);
            if (name == NULL)
                return NULL;
            for (i = 0; i < len; i++)
                PyUnicode_1BYTE_DATA(name)[i] = lower(s[i]);
            PyUnicode_InternInPlace(&name);
            evicted = set[1];
            set[1] = set[0];
            memcpy(set[0].words, words, sizeof(words));
            set[0].len = len;
            set[0].text = Py_NewRef(name);
            Py_XDECREF(evicted.text);
            return name;
        }
    }
    if (len > (Py_ssize_t)sizeof(small)) {
        buf = PyMem_Malloc((size_t)len);
        if (buf == NULL)
            return PyErr_NoMemory();
    }
    for (i = 0; i < len; i++)
        buf[i] = lower(s[i]);
    name = decode(self, buf, len, 0);
    if (buf != small)
        PyMem_Free(buf);
    return name;
}

static PyObject *attrs_dict(Scanner *self, const unsigned char *s, const TagInfo *tag)
{
    PyObject *attrs = PyDict_New();
    Py_ssize_t pos = tag->area_start;
    Attr attr;
    if (attrs == NULL)
        return NULL;
    while (next_attr(s, &pos, tag->area_end, &attr)) {
        PyObject *name, *value;
        int known;
        name = decode_name(self, s + attr.name_start, attr.name_end - attr.name_start);
        if (name == NULL)
            goto fail;
        known = PyDict_Contains(attrs, name);
        if (known != 0) { /* the first of duplicated names wins */
            Py_DECREF(name);
            if (known < 0)
                goto fail;
            continue;
        }
        if (attr.value_start < 0)
            value = PyUnicode_New(0, 0);
        else
            value = decode(self, s + attr.value_start, attr.value_end - attr.value_start, 1);
        if (value == NULL || PyDict_SetItem(attrs, name, value) < 0) {
            Py_DECREF(name);
            Py_XDECREF(value);
            goto fail;
        }
        Py_DECREF(name);
        Py_DECREF(value);
    }
    return attrs;
fail:
    Py_DECREF(attrs);
    return NULL;
}

/* ------------------------------------------------------------------ tree model */

/* tree._Tree.start: process a start tag; returns its raw-text flag (F_SWITCH bits) or 0,
 * -1 on error. */
static int html_start(Scanner *t, const unsigned char *s, const TagInfo *tag);

static void close_select(Scanner *t)
{
    Py_ssize_t i;
    t->in_select = 0;
    for (i = t->stack_len - 1; i >= 0; i--) {
        if (t->stack[i].ns == NS_HTML && (t->stack[i].flags & F_SELECT)) {
            stack_truncate(t, i);
            return;
        }
    }
}

/* How many elements of the tag's name are open (tree._Tree.open_counts), or NULL when
 * none ever was (and create is false, or memory ran out). */
static Py_ssize_t *open_count(Scanner *t, const TagInfo *tag, int create)
{
    CountSlot *slot;
    if (tag->known >= 0)
        return &t->known_counts[tag->known];
    slot = counts_find(&t->counts, tag->key, tag->key_len, tag->hash, create);
    return slot == NULL ? NULL : &slot->count;
}

/* Once this scanner restarted another (Scanner_restart_into), list a slot whose count
 * changes, once, so that a restart of the same one copies those counts only. */
static NOINLINE int count_changed(Scanner *t, CountSlot *slot)
{
    if (slot->changed || t->tracked_capacity != t->counts.capacity)
        return 0; /* (listed, or the table grew since: the next restart copies all) */
    if (t->n_changed == t->changed_cap) {
        size_t cap = t->changed_cap ? t->changed_cap * 2 : 64;
        size_t *bigger = PyMem_Realloc(t->changed, cap * sizeof(size_t));
        if (bigger == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        t->changed = bigger;
        t->changed_cap = cap;
    }
    slot->changed = 1;
    t->changed[t->n_changed++] = (size_t)(slot - t->counts.slots);
    return 0;
}

static int count_add(Scanner *t, const TagInfo *tag, Py_ssize_t delta)
{
    CountSlot *slot = NULL;
    Py_ssize_t *count;
    if (tag->known >= 0)
        count = &t->known_counts[tag->known];
    else {
        slot = counts_find(&t->counts, tag->key, tag->key_len, tag->hash, delta > 0);
        if (slot == NULL) {
            if (delta > 0) {
                PyErr_NoMemory();
                return -1;
            }
            return 0;
        }
        count = &slot->count;
    }
    if (*count + delta >= 0) {
        *count += delta;
        if (slot != NULL && t->tracking) /* (rarely: see count_changed) */
            return count_changed(t, slot);
    }
    return 0;
}

static int has_html_attr_any(const unsigned char *s, const TagInfo *tag)
{
    Attr attr;
    return find_attr(s, tag, "color", &attr) || find_attr(s, tag, "face", &attr)
           || find_attr(s, tag, "size", &attr);
}

/* annotation-xml with encoding text/html or application/xhtml+xml is an HTML integration point */
static int html_encoding(Scanner *t, const unsigned char *s, const TagInfo *tag)
{
    Attr attr;
    PyObject *value, *lowered;
    int result;
    if (!find_attr(s, tag, "encoding", &attr))
        return 0;
    if (attr.value_start < 0)
        return 0;
    value = decode(t, s + attr.value_start, attr.value_end - attr.value_start, 1);
    if (value == NULL)
        return -1;
    lowered = PyObject_CallMethod(value, "lower", NULL);
    Py_DECREF(value);
    if (lowered == NULL)
        return -1;
    result = PyUnicode_CompareWithASCIIString(lowered, "text/html") == 0
             || PyUnicode_CompareWithASCIIString(lowered, "application/xhtml+xml") == 0;
    Py_DECREF(lowered);
    return result;
}

static int tree_start(Scanner *t, const unsigned char *s, const TagInfo *tag)
{
    int flags = tag->flags;
    t->started_foreign = 0;
    while (t->stack_len) {
        Node *top = &t->stack[t->stack_len - 1];
        int breakout;
        if (top->ns == NS_HTML || top->html_ip || (top->text_ip && !(flags & F_MGLYPH))
            || (top->ns == NS_MATH && (top->flags & F_ANNOTATION_XML) && (flags & F_SVG)))
            break; /* processed with the HTML rules */
        breakout = (flags & F_BREAKOUT) || ((flags & F_FONT) && has_html_attr_any(s, tag));
        if (breakout) {
            while (t->stack_len) {
                Node *node = &t->stack[t->stack_len - 1];
                if (node->ns == NS_HTML || node->html_ip || node->text_ip)
                    break;
                stack_truncate(t, t->stack_len - 1);
            }
            continue;
        }
        if (!tag->self_closing) {
            int html_ip = 0;
            if (top->ns == NS_MATH && (flags & F_ANNOTATION_XML)) {
                html_ip = html_encoding(t, s, tag);
                if (html_ip < 0)
                    return -1;
            }
            if (stack_push(t, top->ns, tag->key, tag->key_len, flags, html_ip) < 0)
                return -1;
        }
        t->started_foreign = 1;
        return 0;
    }
    return html_start(t, s, tag);
}

static int html_start(Scanner *t, const unsigned char *s, const TagInfo *tag)
{
    int flags = tag->flags;
    const unsigned char *name = tag->key;
    if (t->in_select) {
        if (flags & F_SCRIPT)
            return F_SCRIPT;
        if ((flags & F_SELECT_CLOSER) || (t->select_in_table && (flags & F_TABLE_PART))) {
            close_select(t);
            if (flags & F_SELECT)
                return 0;
            return html_start(t, s, tag);
        }
        return 0; /* ignored by the "in select" insertion mode */
    }
    if (flags & (F_SVG | F_MATH)) {
        if (!tag->self_closing
            && stack_push(t, (flags & F_SVG) ? NS_SVG : NS_MATH, name, tag->key_len, flags, 0) < 0)
            return -1;
        return 0;
    }
    if (flags & F_SWITCH)
        return flags & F_SWITCH;
    if (flags & F_FORM) {
        if (t->form_open)
            return 0;
        t->form_open = 1;
    }
    if (flags & F_SELECT) {
        t->in_select = 1;
        t->select_in_table = !t->stack_len && t->table_depth > 0;
    }
    if (t->stack_len) {
        if (!(flags & (F_VOID | F_IGNORED_IN_BODY))
            && stack_push(t, NS_HTML, name, tag->key_len, flags, 0) < 0)
            return -1;
        return 0;
    }
    if (flags & F_TABLE)
        t->table_depth++;
    if ((flags & F_IGNORED_IN_BODY) && !t->table_depth && !t->known_counts[known_template])
        return 0; /* "in body" ignores a table part outside a table: it never opens */
    if (!(flags & (F_VOID | F_NOT_COUNTED)))
        return count_add(t, tag, 1);
    return 0;
}

/* tree._Tree.closes_foreign: whether an end tag closes a foreign element (an <svg>'s
 * </form> is no form's end) */
static int closes_foreign(const Scanner *t, const TagInfo *tag)
{
    Py_ssize_t i = t->stack_len - 1;
    if (i < 0 || t->stack[i].ns == NS_HTML || t->in_select)
        return 0;
    for (; i >= 0 && t->stack[i].ns != NS_HTML; i--)
        if (node_is(&t->stack[i], tag->key, tag->key_len))
            return 1;
    return 0;
}

/* tree._Tree.end */
static int tree_end(Scanner *t, const TagInfo *tag)
{
    int flags = tag->flags;
    const unsigned char *name = tag->key;
    Py_ssize_t len = tag->key_len, i;
    if (t->in_select) {
        if (!(flags & F_SELECT) && !(t->select_in_table && (flags & F_TABLE_PART)))
            return 0;
        close_select(t);
        if (flags & F_SELECT)
            return 0;
    }
    i = t->stack_len - 1;
    if (t->stack_len && t->stack[i].ns != NS_HTML) {
        while (i >= 0) {
            if (node_is(&t->stack[i], name, len)) {
                stack_truncate(t, i);
                return 0; /* (an <svg>'s </form>: the form element pointer stays) */
            }
            i--;
            if (i >= 0 && t->stack[i].ns == NS_HTML)
                break;
        }
    }
    if (flags & F_FORM)
        t->form_open = 0;
    if (t->stack_len) {
        Py_ssize_t *count;
        while (i >= 0) {
            Node *node = &t->stack[i];
            if (node->ns == NS_HTML && node_is(node, name, len)) {
                if (flags & F_FORM)
                    stack_remove(t, i); /* </form> removes the form element alone */
                else
                    stack_truncate(t, i);
                return 0;
            }
            if (node->boundary)
                return 0;
            i--;
        }
        count = open_count(t, tag, 0);
        if (!(flags & F_FORM) && count != NULL && *count > 0)
            stack_truncate(t, 0); /* an element opened before the <svg>/<math> closes it */
        else
            return 0;
    }
    if ((flags & F_TABLE) && t->table_depth)
        t->table_depth--;
    return count_add(t, tag, -1);
}

/* ------------------------------------------------------------------ raw text */

/* tokenizer._script_end: offset of the "</script" that ends script data read from pos in
 * *state (0: script data, 1: escaped, 2: double escaped), or -1 when the data ends first;
 * *state is then the state there, *from the offset it holds from. */
static Py_ssize_t script_end(const unsigned char *s, Py_ssize_t n, Py_ssize_t pos, int *state_io,
                             Py_ssize_t *from)
{
    int state = *state_io;
    for (;;) {
        Py_ssize_t p;
        for (p = pos;; p++) {
            /* only a "<" matters in script data, and "-" too in its escaped states */
            p = state == 0 ? find_byte(s, p, n, '<') : find_either(s, p, n, '<', '-');
            if (p < 0) {
                *state_io = state;
                *from = pos;
                return -1;
            }
            if (s[p] == '<') {
                if (state == 0 && p + 4 <= n && memcmp(s + p + 1, "!--", 3) == 0) {
                    state = 1;
                    pos = p + 2; /* the "--" of "<!--" may close it again: "<!-->" */
                    break;
                }
                if (p + 8 < n && s[p + 1] == '/' && eq_ci(s + p + 2, 6, "script")
                    && (is_ws(s[p + 8]) || s[p + 8] == '/' || s[p + 8] == '>')) {
                    if (state != 2) {
                        *state_io = state;
                        *from = p;
                        return p;
                    }
                    state = 1;
                    pos = p + 9;
                    break;
                }
                if (state == 1 && p + 7 < n && eq_ci(s + p + 1, 6, "script")
                    && (is_ws(s[p + 7]) || s[p + 7] == '/' || s[p + 7] == '>')) {
                    state = 2;
                    pos = p + 8;
                    break;
                }
            }
            else if (state != 0 && s[p] == '-' && p + 3 <= n && s[p + 1] == '-'
                     && s[p + 2] == '>') {
                state = 0;
                pos = p + 3;
                break;
            }
        }
    }
}

/* the "</name" (followed by whitespace, "/" or ">") that ends RAWTEXT/RCDATA, or -1 */
static Py_ssize_t raw_end(const unsigned char *s, Py_ssize_t n, Py_ssize_t pos, const char *name)
{
    Py_ssize_t m = (Py_ssize_t)strlen(name);
    for (;;) {
        Py_ssize_t p = find_byte(s, pos, n, '<');
        if (p < 0)
            return -1;
        if (p + 2 + m < n && s[p + 1] == '/' && eq_ci(s + p + 2, m, name)) {
            unsigned char c = s[p + 2 + m];
            if (is_ws(c) || c == '/' || c == '>')
                return p;
        }
        pos = p + 1;
    }
}

/* ------------------------------------------------------------------ emitting items */

static PyObject *NO_ATTRS; /* a read-only empty mapping, shared by tags without attributes */

/* (small, and every tag goes through it: inline) */
static inline int wanted_by_name(Scanner *self, const TagInfo *tag)
{
    Py_ssize_t k, count;
    if (self->names == NULL)
        return 1;
    if (tag->known >= 0)
        return self->wanted_known[tag->known];
    if (!self->wanted_unknown)
        return 0;
    count = PyTuple_GET_SIZE(self->names);
    for (k = 0; k < count; k++) {
        PyObject *name = PyTuple_GET_ITEM(self->names, k);
        if (PyBytes_GET_SIZE(name) == tag->key_len
            && eq_ci(tag->key, tag->key_len, PyBytes_AS_STRING(name)))
            return 1;
    }
    return 0;
}

static int hinted(Scanner *self, const unsigned char *s, const TagInfo *tag)
{
    Py_ssize_t k, p, count = self->n_hints;
    for (p = tag->area_start; p < tag->area_end; p++) {
        if (!self->hint_first[s[p]])
            continue;
        for (k = 0; k < count; k++) {
            PyObject *hint = PyTuple_GET_ITEM(self->hints, k);
            Py_ssize_t m = PyBytes_GET_SIZE(hint);
            if (p + m <= tag->area_end && starts_ci(s + p, PyBytes_AS_STRING(hint), m))
                return 1;
        }
    }
    return 0;
}

static int open_panel(Scanner *self, const unsigned char *s, const TagInfo *tag);

/* Note a cut at offset at (cuts mode). */
static int add_cut(Scanner *self, Py_ssize_t at, PyObject *out)
{
    PyObject *number = PyLong_FromSsize_t(at);
    int result;
    if (number == NULL)
        return -1;
    result = PyList_Append(out, number);
    Py_DECREF(number);
    self->last_cut = at;
    return result;
}

/* A tag in cuts mode (partial._child_cuts, the model html_scan.top_level_cuts describes): text
 * before a top-level tag is a piece; an end tag closes the nearest open element of its name
 * (and those opened after it), a void or self-closing tag is whole, any other start tag
 * opens an element; a top-level element ends a piece. */
static int cut_tag(Scanner *self, const TagInfo *tag, PyObject *out)
{
    Py_ssize_t k, j;
    if (self->n_cut_open == 0 && tag->start > self->last_cut && add_cut(self, tag->start, out) < 0)
        return -1;
    if (tag->is_end) {
        for (k = self->n_cut_open - 1; k >= 0; k--) {
            const CutName *open = &self->cut_open[k];
            if (open->len != tag->key_len)
                continue;
            for (j = 0; j < open->len; j++)
                if (self->cut_names[open->at + j] != lower(tag->key[j]))
                    break;
            if (j == open->len)
                break;
        }
        if (k < 0)
            return 0; /* no element of its name is open: nothing */
        self->n_cut_open = k;
        self->cut_names_len = self->cut_open[k].at;
        return k == 0 ? add_cut(self, tag->end, out) : 0;
    }
    if ((tag->flags & F_VOID) || tag->self_closing)
        return self->n_cut_open == 0 ? add_cut(self, tag->end, out) : 0;
    if (array_room((void **)&self->cut_open, self->n_cut_open, &self->cut_open_cap,
                   sizeof(CutName)) < 0)
        return -1;
    while (self->cut_names_len + tag->key_len > self->cut_names_cap) {
        Py_ssize_t cap = self->cut_names_cap ? 2 * self->cut_names_cap : 256;
        unsigned char *names = PyMem_Realloc(self->cut_names, (size_t)cap);
        if (names == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        self->cut_names = names;
        self->cut_names_cap = cap;
    }
    for (j = 0; j < tag->key_len; j++)
        self->cut_names[self->cut_names_len + j] = lower(tag->key[j]);
    self->cut_open[self->n_cut_open].at = self->cut_names_len;
    self->cut_open[self->n_cut_open].len = tag->key_len;
    self->cut_names_len += tag->key_len;
    self->n_cut_open++;
    return 0;
}

/* Append a tag to out as a Tag (the items before it are out already). */
static int append_tag(Scanner *self, const unsigned char *s, const TagInfo *tag, PyObject *out)
{
    PyObject *name, *attrs, *item;
    int result;
    name = decode_name(self, s + tag->name_start, tag->name_len);
    if (name == NULL)
        return -1;
    if (tag->is_end || tag->area_end == tag->area_start) {
        attrs = Py_NewRef(NO_ATTRS);
    }
    else {
        PyObject *dict = attrs_dict(self, s, tag);
        if (dict == NULL) {
            Py_DECREF(name);
            return -1;
        }
        attrs = PyDict_GET_SIZE(dict) ? PyDictProxy_New(dict) : Py_NewRef(NO_ATTRS);
        Py_DECREF(dict);
        if (attrs == NULL) {
            Py_DECREF(name);
            return -1;
        }
    }
    /* a Tag, as tuple.__new__(Tag, fields) makes it */
    item = self->tag_type->tp_alloc(self->tag_type, 6);
    if (item == NULL) {
        Py_DECREF(name);
        Py_DECREF(attrs);
        return -1;
    }
    PyTuple_SET_ITEM(item, 0, name);
    PyTuple_SET_ITEM(item, 1, Py_NewRef(tag->is_end ? Py_True : Py_False));
    PyTuple_SET_ITEM(item, 2, PyLong_FromSsize_t(tag->start));
    PyTuple_SET_ITEM(item, 3, PyLong_FromSsize_t(tag->end));
    PyTuple_SET_ITEM(item, 4, attrs);
    PyTuple_SET_ITEM(item, 5, Py_NewRef(tag->self_closing ? Py_True : Py_False));
    if (PyTuple_GET_ITEM(item, 2) == NULL || PyTuple_GET_ITEM(item, 3) == NULL) {
        Py_DECREF(item);
        return -1;
    }
    result = PyList_Append(out, item);
    Py_DECREF(item);
    return result;
}

/* The attributes of a form start tag that decide nothing but its method and action
 * (inject._PLAIN_FORM_ATTRS: a test holds the two lists equal). Not accept-charset: it decides
 * the encoding the form is submitted in, which its tokens record. */
static const char *const PLAIN_FORM_ATTRS[] = {
    "method", "action", "class", "style", "title", "role", "name", "target", "enctype",
    "autocomplete", "novalidate", "lang", "dir", NULL,
};

/* Whether a form start tag may be held back as a bare form's (see emit_tag): each of its
 * attributes is in PLAIN_FORM_ATTRS, its first method is "post" (ASCII case-insensitive, as
 * it is written: a character reference makes it no bare form, which only costs speed), it is
 * not written self-closing. Its first action, if any, is noted in *action. */
static int plain_form(const unsigned char *s, const TagInfo *tag, Attr *action, int *has_action)
{
    Py_ssize_t pos = tag->area_start;
    Attr attr;
    int method = 0, k;
    *has_action = 0;
    if (tag->self_closing)
        return 0;
    while (next_attr(s, &pos, tag->area_end, &attr)) {
        Py_ssize_t len = attr.name_end - attr.name_start;
        for (k = 0; PLAIN_FORM_ATTRS[k] != NULL; k++) /* (the first letter sorts out most) */
            if ((unsigned char)PLAIN_FORM_ATTRS[k][0] == lower(s[attr.name_start])
                && eq_ci(s + attr.name_start, len, PLAIN_FORM_ATTRS[k]))
                break;
        if (PLAIN_FORM_ATTRS[k] == NULL)
            return 0; /* an attribute the injector reads (an id, htmx's...) or any other */
        if (k == 0 && !method) {
            method = 1;
            if (attr.value_start < 0 || attr.value_end - attr.value_start != 4
                || !eq_ci(s + attr.value_start, 4, "post"))
                return 0;
        }
        else if (k == 1 && !*has_action) {
            *has_action = 1;
            *action = attr;
        }
    }
    return method;
}

/* Append the held-back start tag to out as a Tag: what came after it was not a bare form's.
 * (Out of line, as the other bare-form steps: the scanning loop stays as small as it was.) */
static NOINLINE int flush_bare(Scanner *self, const unsigned char *s, PyObject *out)
{
    self->bare_pending = 0;
    return append_tag(self, s, &self->bare_tag, out);
}

/* The held-back start tag and its end tag, with no tag returned between them, as one
 * BareForm (start, end, closed_at, closed_end, action: None without an action attribute,
 * pairs: the dict of the pairs between them, or None). */
static int append_bare(Scanner *self, const unsigned char *s, const TagInfo *end_tag,
                       PyObject *pairs, PyObject *out)
{
    const TagInfo *start_tag = &self->bare_tag;
    const Attr *found = &self->bare_action;
    PyObject *action, *item;
    int result;
    if (!self->bare_has_action)
        action = Py_NewRef(Py_None);
    else if (found->value_start < 0)
        action = PyUnicode_New(0, 0);
    else
        action = decode(self, s + found->value_start, found->value_end - found->value_start, 1);
    if (action == NULL)
        return -1;
    item = self->bare_type->tp_alloc(self->bare_type, 6);
    if (item == NULL) {
        Py_DECREF(action);
        return -1;
    }
    PyTuple_SET_ITEM(item, 0, PyLong_FromSsize_t(start_tag->start));
    PyTuple_SET_ITEM(item, 1, PyLong_FromSsize_t(start_tag->end));
    PyTuple_SET_ITEM(item, 2, PyLong_FromSsize_t(end_tag->start));
    PyTuple_SET_ITEM(item, 3, PyLong_FromSsize_t(end_tag->end));
    PyTuple_SET_ITEM(item, 4, action);
    PyTuple_SET_ITEM(item, 5, Py_NewRef(pairs));
    if (PyTuple_GET_ITEM(item, 0) == NULL || PyTuple_GET_ITEM(item, 1) == NULL
        || PyTuple_GET_ITEM(item, 2) == NULL || PyTuple_GET_ITEM(item, 3) == NULL) {
        Py_DECREF(item);
        return -1;
    }
    result = PyList_Append(out, item);
    Py_DECREF(item);
    return result;
}

/* The held-back form's end tag: its pairs since (the batch, given out into a list of its
 * own) are none or one dict, so the form is one BareForm: 1; else the start tag and those
 * items go out in order, for the caller to give out the end tag as usual: 0; -1 on error. */
static NOINLINE int close_held(Scanner *self, const unsigned char *s, const TagInfo *end_tag,
                               PyObject *out)
{
    PyObject *given;
    Py_ssize_t count, k;
    int result = -1;
    const Batch *batch = &self->batch;
    self->bare_pending = 0; /* (and so before_out does nothing while the batch is given out) */
    if (batch->n_pairs == 0 && batch->family.count == 0 && batch->run.target == NULL)
        /* (no pairs since its start, as in most: batch_flush would give out nothing) */
        return append_bare(self, s, end_tag, Py_None, out) < 0 ? -1 : 1;
    given = PyList_New(0);
    if (given == NULL)
        return -1;
    if (batch_flush(&self->batch, given) < 0)
        goto done;
    count = PyList_GET_SIZE(given);
    if (count == 0 || (count == 1 && PyDict_CheckExact(PyList_GET_ITEM(given, 0)))) {
        result = append_bare(self, s, end_tag, count ? PyList_GET_ITEM(given, 0) : Py_None,
                             out);
        result = result < 0 ? -1 : 1;
        goto done;
    }
    if (append_tag(self, s, &self->bare_tag, out) < 0) /* (a family or rows: as before) */
        goto done;
    for (k = 0; k < count; k++)
        if (PyList_Append(out, PyList_GET_ITEM(given, k)) < 0)
            goto done;
    result = 0;
done:
    Py_DECREF(given);
    return result;
}

/* Batch.before_out: a run given out mid-stretch comes after the form held back. */
static int flush_held(void *ctx)
{
    Scanner *self = ctx;
    return self->bare_pending ? flush_bare(self, self->bare_data, self->batch.out) : 0;
}

/* A plain post form's start tag (see plain_form) held back, any other form's given out. */
static NOINLINE int hold_form(Scanner *self, const unsigned char *s, const TagInfo *tag,
                              PyObject *out)
{
    if (!plain_form(s, tag, &self->bare_action, &self->bare_has_action))
        return append_tag(self, s, tag, out);
    self->bare_tag = *tag;
    self->bare_data = s;
    self->bare_pending = 1;
    return 0;
}

/* Return a tag (python_engine._PythonEngine._emit, once it is returned).
 *
 * Bare forms (bare_type set, no panels watched): the start tag of a plain post form (see
 * plain_form) is held back; if its end tag is the next tag returned, the two and the pairs
 * between them (none, or one dict) are returned as one BareForm (a list page's delete or
 * vote forms: one small object, not two Tags with their attributes); any other tag, a
 * family or rows of pairs, or the end of the call's data returns it as a Tag first, in its
 * place. The Python engine returns the tags, which BareForm.items() gives back. */
static int emit_tag(Scanner *self, const unsigned char *s, const TagInfo *tag, PyObject *out)
{
    if (self->cuts)
        return cut_tag(self, tag, out);
    if (self->bare_pending) {
        if (tag->is_end && (tag->flags & F_FORM) && !tag->self_closing) { /* ("</form/>":
            * a Tag, so that its flag is returned as it is) */
            int closed = close_held(self, s, tag, out);
            if (closed)
                return closed < 0 ? -1 : 0;
        }
        else if (flush_bare(self, s, out) < 0) {
            return -1;
        }
    }
    if (self->n_panels && open_panel(self, s, tag) < 0)
        return -1;
    /* the pairs met before it, and a returned tag starts a new scope for the pairs */
    if (batch_flush(&self->batch, out) < 0)
        return -1;
    if (self->bare_type != NULL && !self->n_panels && !tag->is_end && (tag->flags & F_FORM))
        return hold_form(self, s, tag, out);
    return append_tag(self, s, tag, out);
}

static PyObject *attr_value(Scanner *self, const unsigned char *s, const Attr *attr)
{
    if (attr->value_start < 0)
        return PyUnicode_New(0, 0);
    return decode(self, s + attr->value_start, attr->value_end - attr->value_start, 1);
}

/* python_engine._PythonEngine._opens_panel: whether a start tag is one of the panels asked
 * for (a data-update-panel attribute, and its id, decoded, "" without one, in the ids given to
 * watch_panels); -1 on error. Its attributes are noted as it is read (classify), so a tag
 * without data-update-panel costs a bit test. With found_id, *found_id gets a new reference
 * to the id of a tag that is one (else NULL). */
static int panel_of(Scanner *self, const unsigned char *s, const TagInfo *tag,
                    PyObject **found_id)
{
    PyObject *id;
    int found;
    if (found_id != NULL)
        *found_id = NULL;
    if (!self->n_panels || tag->is_end || !(tag->seen & SEEN(AT_PANEL)))
        return 0;
    id = tag->seen & SEEN(AT_ID) ? attr_value(self, s, &tag->attrs[AT_ID]) : PyUnicode_New(0, 0);
    if (id == NULL)
        return -1;
    found = PySet_Contains(self->panels, id);
    if (found > 0 && found_id != NULL)
        *found_id = id;
    else
        Py_DECREF(id);
    return found;
}

static int opens_panel(Scanner *self, const unsigned char *s, const TagInfo *tag)
{
    return panel_of(self, s, tag, NULL);
}

/* Whether a region is of the tag's name (compared as TagInfo.key is: see Region). */
static int region_is(const Region *region, const TagInfo *tag)
{
    Py_ssize_t j;
    if (region->len != tag->key_len)
        return 0;
    for (j = 0; j < tag->key_len; j++)
        if (region->name[j] != lower(tag->key[j]))
            return 0;
    return 1;
}

/* Whether an open panel's name is KNOWN's name ``known`` (a tag of that name counts into
 * it: count_regions); a tag of another name only passes through the panel. */
static inline int region_named(const Scanner *self, int known)
{
    Py_ssize_t k;
    for (k = 0; k < self->n_regions; k++)
        if (self->regions[k].known == known)
            return 1;
    return 0;
}

/* Whether count_regions has anything to do for a tag whose name is KNOWN's ``known`` (-1: a
 * name not in KNOWN): a panel is open, and the name is not a known one that no open panel has
 * (such a tag changes no panel's depth). The scanning loop's short way (plain_tag's) and
 * read_tag's way both ask it. */
static inline int counts_into_regions(const Scanner *self, int known)
{
    return self->n_regions && (known < 0 || region_named(self, known));
}

/* A PanelEnd (id, start, end): where the region of the panel id ends, at an end tag. */
static int append_panel_end(Scanner *self, PyObject *id, const TagInfo *tag, PyObject *out)
{
    int result;
    PyObject *item = self->panel_end_type->tp_alloc(self->panel_end_type, 3);
    if (item == NULL)
        return -1;
    PyTuple_SET_ITEM(item, 0, Py_NewRef(id));
    PyTuple_SET_ITEM(item, 1, PyLong_FromSsize_t(tag->start));
    PyTuple_SET_ITEM(item, 2, PyLong_FromSsize_t(tag->end));
    if (PyTuple_GET_ITEM(item, 1) == NULL || PyTuple_GET_ITEM(item, 2) == NULL) {
        Py_DECREF(item);
        return -1;
    }
    result = PyList_Append(out, item);
    Py_DECREF(item);
    return result;
}

/* python_engine._PythonEngine._count_regions: count a tag into the open regions' depths (a
 * start tag of a region's name adds 1 unless it closes itself (tree.closes_itself: "<x/>",
 * not of a breakout name), an end tag takes 1 away; a region at 0 is closed, and its
 * PanelEnd appended to out, in the order the regions were opened). Every tag is looked at
 * while a region is open; a start tag is counted before it is returned (it may open a region
 * of its own, not counted into it: open_panel), an end tag after (its PanelEnds follow it).
 * Only an end tag closes one: out may be NULL for a start tag. -1 on error. */
static int count_regions(Scanner *self, const TagInfo *tag, PyObject *out)
{
    Py_ssize_t k, kept = 0;
    Py_ssize_t delta = tag->is_end ? -1 : !(tag->self_closing && !(tag->flags & F_BREAKOUT));
    Region *region;
    int result = 0;
    for (k = 0; k < self->n_regions; k++) {
        region = &self->regions[k];
        if (region_is(region, tag))
            region->depth += delta;
        if (region->depth > 0) {
            if (kept != k)
                self->regions[kept] = *region;
            kept++;
        }
        else {
            /* (an end tag's: a start tag adds 0 or 1 to a depth of 1 or more) */
            if (result == 0 && append_panel_end(self, region->id, tag, out) < 0)
                result = -1; /* (the regions are still dropped: the scan fails) */
            PyMem_Free(region->name);
            Py_DECREF(region->id);
        }
    }
    self->n_regions = kept;
    return result;
}

/* python_engine._PythonEngine._emit's end: open a region if a returned start tag is the first
 * of a panel asked for (after count_regions counted it into those open). A later start tag of
 * the same id opens none (partial.panel_starts takes the first): so a page repeating an id on
 * nested elements cannot make every tag count into thousands of regions. -1 on error. */
static int open_panel(Scanner *self, const unsigned char *s, const TagInfo *tag)
{
    Py_ssize_t k;
    Region *region;
    PyObject *id;
    int opens = panel_of(self, s, tag, &id);
    if (opens <= 0)
        return opens;
    if (self->opened == NULL && (self->opened = PySet_New(NULL)) == NULL) {
        Py_DECREF(id);
        return -1;
    }
    opens = PySet_Contains(self->opened, id);
    if (opens == 0)
        opens = PySet_Add(self->opened, id) < 0 ? -1 : 1;
    else if (opens > 0)
        opens = 0; /* (not its first start tag) */
    if (opens <= 0
        || array_room((void **)&self->regions, self->n_regions, &self->regions_cap,
                      sizeof(Region)) < 0) {
        Py_DECREF(id);
        return opens <= 0 ? opens : -1;
    }
    region = &self->regions[self->n_regions];
    region->name = PyMem_Malloc(tag->key_len > 0 ? (size_t)tag->key_len : 1);
    if (region->name == NULL) {
        Py_DECREF(id);
        PyErr_NoMemory();
        return -1;
    }
    for (k = 0; k < tag->key_len; k++)
        region->name[k] = lower(tag->key[k]);
    region->len = tag->key_len;
    region->known = tag->known;
    region->depth = 1;
    region->id = id; /* (the reference panel_of gave) */
    self->n_regions++;
    return 0;
}

/* Forget the regions and the ids that opened them (a new document, or the scanner's end). */
static void regions_free(Scanner *self)
{
    Py_CLEAR(self->opened);
    while (self->n_regions > 0) {
        Region *region = &self->regions[--self->n_regions];
        PyMem_Free(region->name);
        Py_DECREF(region->id);
    }
    PyMem_Free(self->regions);
    self->regions = NULL;
    self->regions_cap = 0;
}

/* The target's text: the last one again when the bytes are the same (no decoding; and the
 * same object, which batch_add recognises as the last pair's target). */
static PyObject *same_target(Scanner *self, const unsigned char *s, const Attr *target)
{
    Py_ssize_t len = target->value_end - target->value_start;
    PyObject *text;
    if (self->last_target_text != NULL && self->last_target_len == len
        && memcmp(self->last_target_raw, s + target->value_start, (size_t)len) == 0)
        return Py_NewRef(self->last_target_text);
    text = attr_value(self, s, target);
    if (text == NULL)
        return NULL;
    Py_CLEAR(self->last_target_text);
    if (len > self->last_target_cap) {
        unsigned char *bigger = PyMem_Realloc(self->last_target_raw, (size_t)len);
        if (bigger == NULL) {
            Py_DECREF(text);
            return PyErr_NoMemory();
        }
        self->last_target_raw = bigger;
        self->last_target_cap = len;
    }
    memcpy(self->last_target_raw, s + target->value_start, (size_t)len);
    self->last_target_len = len;
    self->last_target_text = Py_NewRef(text);
    return text;
}

/* python_engine._calls_postback: "dopostback" (ASCII case-insensitive) in the raw value of
 * the tag's href, onclick or onchange (the first of each): an ASP.NET postback reference,
 * which the injector reads (aspnet.markup). */
static int calls_postback(const unsigned char *s, const TagInfo *tag)
{
    static const int scripted[3] = {AT_HREF, AT_ONCLICK, AT_ONCHANGE};
    int k;
    for (k = 0; k < 3; k++) {
        const Attr *a = &tag->attrs[scripted[k]];
        Py_ssize_t p;
        if (!(tag->seen & SEEN(scripted[k])) || a->value_start < 0)
            continue;
        /* (the spelling ASP.NET writes in every GridView link, told at once: a grid has
         * hundreds, and this runs twice for each, see collect_pairs) */
        if (a->value_end - a->value_start >= 24
            && memcmp(s + a->value_start, "javascript:__doPostBack(", 24) == 0)
            return 1;
        for (p = a->value_start; p + 10 <= a->value_end; p++)
            if (lower(s[p]) == 'd' && starts_ci(s + p, "dopostback", 10))
                return 1;
    }
    return 0;
}

/* python_engine._href_call: the commonest of ASP.NET's references, the href of a GridView's
 * links, is read here, on its decoded value, as aspnet.markup._HREF_CALL reads it:
 * "javascript:__doPostBack('T','A')" and an optional ";", T one or more and A zero or more
 * characters of markup._PLAIN (none of them a C0 control, a quote, a backslash, "%", U+2028,
 * U+2029 or a surrogate; the comment above _PLAIN says why such a match is read exactly as
 * the lexer reads it). A plain character ends no string and a quote ends each one, so the
 * runs below are the regular expression's only match. */
#define HREF_CALL_MAX_LENGTH 4096 /* aspnet.markup.MAX_VALUE_LENGTH */

static inline int plain_char(Py_UCS4 c)
{
    return c >= 0x20 && c != '\'' && c != '"' && c != '\\' && c != '%' && c != 0x2028
           && c != 0x2029 && !(c >= 0xD800 && c <= 0xDFFF);
}

/* The end of the run of plain characters of text from k. */
static Py_ssize_t plain_run(int kind, const void *text, Py_ssize_t len, Py_ssize_t k)
{
    while (k < len && plain_char(PyUnicode_READ(kind, text, k)))
        k++;
    return k;
}

/* text[k:] begins with the ASCII literal lit. */
static int text_at(int kind, const void *text, Py_ssize_t len, Py_ssize_t k, const char *lit)
{
    for (; *lit; lit++, k++)
        if (k >= len || PyUnicode_READ(kind, text, k) != (Py_UCS4)(unsigned char)*lit)
            return 0;
    return 1;
}

/* text[start:end]: the batch's last target again when it is that text (a grid's links name
 * one target: no new string, and batch_add knows it by identity). */
static PyObject *batch_text(const Batch *b, PyObject *text, Py_ssize_t start, Py_ssize_t end)
{
    if (b->n_groups) {
        PyObject *last = b->groups[b->last_group].target;
        int kind = PyUnicode_KIND(text), last_kind = PyUnicode_KIND(last);
        const void *data = PyUnicode_DATA(text), *last_data = PyUnicode_DATA(last);
        Py_ssize_t i, m = end - start;
        if (PyUnicode_GET_LENGTH(last) == m) {
            for (i = 0; i < m && PyUnicode_READ(kind, data, start + i)
                                     == PyUnicode_READ(last_kind, last_data, i); i++)
                ;
            if (i == m)
                return Py_NewRef(last);
        }
    }
    return PyUnicode_Substring(text, start, end);
}

/* href_call on the raw bytes of the href, for the spelling ASP.NET writes: ASCII, each quote
 * "'" or "&#39;", T and A of bytes that are plain and no "&". Such bytes are their own text
 * and the only references are the quotes, so the decoded value is the raw one with each
 * "&#39;" as "'" and reads as href_call reads it; here no text is made but T (unless it is
 * the batch's last target) and A. 1 added, 0 not that spelling (href_call decodes the value
 * and decides), -1 on error. */
static inline Py_ssize_t raw_quote(const unsigned char *s, Py_ssize_t p, Py_ssize_t end)
{
    if (p < end && s[p] == '\'')
        return 1;
    return end - p >= 5 && memcmp(s + p, "&#39;", 5) == 0 ? 5 : 0;
}

static inline int raw_plain(unsigned char c)
{
    return PLAIN[c] & P_RAW;
}

static PyObject *ascii_text(const unsigned char *s, Py_ssize_t len)
{
    PyObject *text = PyUnicode_New(len, 127);
    if (text != NULL)
        memcpy(PyUnicode_1BYTE_DATA(text), s, (size_t)len);
    return text;
}

static int raw_href_call(Scanner *self, const unsigned char *s, const Attr *href)
{
    static const char head[] = "javascript:__doPostBack(";
    Py_ssize_t p = href->value_start, end = href->value_end, quote, quotes = 0;
    Py_ssize_t t_start, t_end, a_start, a_end;
    PyObject *target, *argument;
    const Batch *b = &self->batch;
    int result;
    if (end - p < (Py_ssize_t)sizeof(head) - 1 || memcmp(s + p, head, sizeof(head) - 1) != 0)
        return 0;
    p += (Py_ssize_t)sizeof(head) - 1;
    if (!(quote = raw_quote(s, p, end)))
        return 0;
    quotes += quote;
    t_start = p += quote;
    while (p < end && raw_plain(s[p]))
        p++;
    t_end = p;
    if (t_end == t_start || !(quote = raw_quote(s, p, end)))
        return 0;
    quotes += quote;
    p += quote;
    if (p >= end || s[p] != ',' || !(quote = raw_quote(s, p + 1, end)))
        return 0;
    quotes += quote;
    a_start = p += 1 + quote;
    while (p < end && raw_plain(s[p]))
        p++;
    a_end = p;
    if (!(quote = raw_quote(s, p, end)))
        return 0;
    quotes += quote;
    p += quote;
    if (p >= end || s[p] != ')' || !(p + 1 == end || (p + 2 == end && s[p + 1] == ';')))
        return 0;
    /* the decoded length (four quotes, each one character) as href_call limits it */
    if (end - href->value_start - quotes + 4 > HREF_CALL_MAX_LENGTH)
        return 0;
    target = NULL;
    if (b->run.target != NULL) { /* (the open run's target again) */
        PyObject *open = b->run.target;
        if (PyUnicode_KIND(open) == PyUnicode_1BYTE_KIND
            && PyUnicode_GET_LENGTH(open) == t_end - t_start
            && memcmp(PyUnicode_1BYTE_DATA(open), s + t_start, (size_t)(t_end - t_start)) == 0)
            target = Py_NewRef(open);
    }
    if (target == NULL && b->n_groups) { /* (as batch_text: the last target again) */
        PyObject *last = b->groups[b->last_group].target;
        if (PyUnicode_KIND(last) == PyUnicode_1BYTE_KIND
            && PyUnicode_GET_LENGTH(last) == t_end - t_start
            && memcmp(PyUnicode_1BYTE_DATA(last), s + t_start, (size_t)(t_end - t_start)) == 0)
            target = Py_NewRef(last);
    }
    if (target == NULL && (target = ascii_text(s + t_start, t_end - t_start)) == NULL)
        return -1;
    result = run_take(&self->batch, target, s + a_start, a_end - a_start);
    if (result) { /* (a grid's next command: no string made) */
        Py_DECREF(target);
        return result < 0 ? -1 : 1;
    }
    argument = ascii_text(s + a_start, a_end - a_start);
    result = argument == NULL || batch_add(&self->batch, target, argument) < 0 ? -1 : 1;
    Py_DECREF(target);
    Py_XDECREF(argument);
    return result;
}

/* The pair of an a or area whose first href is that reference, and which has no onclick or
 * onchange (the injector reads those tags whole), added to the batch: 1 added (or there
 * already), 0 no such tag, -1 on error. */
static int href_call(Scanner *self, const unsigned char *s, const TagInfo *tag)
{
    static const char head[] = "javascript:__doPostBack('";
    const unsigned char *name = s + tag->name_start;
    const Attr *href = &tag->attrs[AT_HREF];
    PyObject *value, *target = NULL, *argument = NULL;
    Py_ssize_t len, t_start = (Py_ssize_t)sizeof(head) - 1, t_end, a_end;
    const void *text;
    int kind, result = 0;
    if (!(tag->name_len == 1 ? lower(name[0]) == 'a'
                             : tag->name_len == 4 && eq_ci(name, 4, "area"))
        || (tag->seen & (SEEN(AT_ONCLICK) | SEEN(AT_ONCHANGE))) || !(tag->seen & SEEN(AT_HREF))
        || href->value_start < 0)
        return 0;
    result = raw_href_call(self, s, href);
    if (result)
        return result;
    value = attr_value(self, s, href);
    if (value == NULL)
        return -1;
    kind = PyUnicode_KIND(value);
    text = PyUnicode_DATA(value);
    len = PyUnicode_GET_LENGTH(value);
    if (len > HREF_CALL_MAX_LENGTH || !text_at(kind, text, len, 0, head))
        goto done;
    t_end = plain_run(kind, text, len, t_start);
    if (t_end == t_start || !text_at(kind, text, len, t_end, "','"))
        goto done;
    a_end = plain_run(kind, text, len, t_end + 3);
    if (!text_at(kind, text, len, a_end, "')")
        || !(a_end + 2 == len || (a_end + 3 == len && PyUnicode_READ(kind, text, a_end + 2) == ';')))
        goto done;
    target = batch_text(&self->batch, value, t_start, t_end);
    argument = target == NULL ? NULL : PyUnicode_Substring(value, t_end + 3, a_end);
    result = argument == NULL || batch_add(&self->batch, target, argument) < 0 ? -1 : 1;
done:
    Py_XDECREF(target);
    Py_XDECREF(argument);
    Py_DECREF(value);
    return result;
}

/* Whether an attribute's decoded value begins with "__" (an id or a name the injector
 * keeps track of); -1 on error. */
static int reserved_value(Scanner *self, const unsigned char *s, const Attr *a)
{
    const unsigned char *raw = s + a->value_start;
    Py_ssize_t len = a->value_end - a->value_start;
    PyObject *value;
    int reserved;
    /* Told on the raw bytes, but for a character reference among the first two characters:
     * "_" is ASCII, and no other byte decodes to it (CR, NUL, the bytes of non-ASCII text). */
    if (len >= 2 && raw[0] == '_' && raw[1] == '_')
        return 1;
    if (!(len >= 1 && raw[0] == '&') && !(len >= 2 && raw[0] == '_' && raw[1] == '&'))
        return 0;
    value = attr_value(self, s, a);
    if (value == NULL)
        return -1;
    reserved = PyUnicode_GET_LENGTH(value) >= 2 && PyUnicode_READ_CHAR(value, 0) == '_'
               && PyUnicode_READ_CHAR(value, 1) == '_';
    Py_DECREF(value);
    return reserved;
}

/* python_engine._PythonEngine._emit: a start tag found by a hint, in postbacks mode (want 2) */
static int collect_pairs(Scanner *self, const unsigned char *s, const TagInfo *tag,
                         PyObject *out)
{
    const Attr *target = &tag->attrs[AT_TARGET], *argument = &tag->attrs[AT_ARGUMENT];
    const Attr *control = &tag->attrs[AT_NAME], *id = &tag->attrs[AT_ID];
    int has_target = tag->seen & SEEN(AT_TARGET), has_argument = tag->seen & SEEN(AT_ARGUMENT);
    int has_auto = tag->seen & SEEN(AT_AUTO), has_control = tag->seen & SEEN(AT_NAME);
    int has_id = tag->seen & SEEN(AT_ID);
    if (has_target && target->value_start >= 0 && target->value_end > target->value_start) {
        PyObject *key, *value;
        int result;
        if (self->batch.family_type != NULL) { /* (a grid's next row: no string made) */
            int valued = has_argument && argument->value_start >= 0;
            int taken = family_take(
                &self->batch, s + target->value_start, target->value_end - target->value_start,
                valued ? s + argument->value_start : s,
                valued ? argument->value_end - argument->value_start : 0);
            if (taken < 0)
                return -1;
            if (taken)
                goto autopostback;
        }
        key = same_target(self, s, target);
        if (key == NULL)
            return -1;
        if (self->batch.rows_type != NULL && has_argument && argument->value_start >= 0) {
            int taken = run_take(&self->batch, key, s + argument->value_start,
                                 argument->value_end - argument->value_start);
            if (taken) { /* (a grid's next command: no string made) */
                Py_DECREF(key);
                if (taken < 0)
                    return -1;
                goto autopostback;
            }
        }
        value = has_argument ? attr_value(self, s, argument) : PyUnicode_New(0, 0);
        if (value == NULL) {
            Py_DECREF(key);
            return -1;
        }
        result = batch_add(&self->batch, key, value);
        Py_DECREF(key);
        Py_DECREF(value);
        if (result < 0)
            return -1;
    }
autopostback:
    if (has_auto && (tag->flags & F_AUTOPOSTBACK) && has_control && control->value_start >= 0
        && control->value_end > control->value_start) {
        PyObject *key = attr_value(self, s, control), *empty;
        int result;
        if (key == NULL)
            return -1;
        empty = PyUnicode_New(0, 0);
        result = empty == NULL ? -1 : batch_add(&self->batch, key, empty);
        Py_DECREF(key);
        Py_XDECREF(empty);
        if (result < 0)
            return -1;
    }
    if (tag->seen & A_SUBMITS)
        return emit_tag(self, s, tag, out); /* the caller decides where it may post */
    if (has_id && id->value_start >= 0) {
        int reserved = reserved_value(self, s, id);
        if (reserved)
            return reserved < 0 ? -1 : emit_tag(self, s, tag, out); /* ids kept unique */
    }
    if (has_control && control->value_start >= 0) {
        int reserved = reserved_value(self, s, control);
        if (reserved) /* a field of ASP.NET's that the injector takes over */
            return reserved < 0 ? -1 : emit_tag(self, s, tag, out);
    }
    if (tag->seen & SEEN(AT_PANEL)) {
        int opens = opens_panel(self, s, tag);
        if (opens) /* a panel asked for: returned (before an href's pair is taken from it) */
            return opens < 0 ? -1 : emit_tag(self, s, tag, out);
    }
    if ((tag->seen & A_SCRIPTED) && calls_postback(s, tag)) {
        int gathered = href_call(self, s, tag); /* (its pair, as a data-postback one) */
        if (gathered)
            return gathered < 0 ? -1 : 0;
        return emit_tag(self, s, tag, out); /* ASP.NET's postback reference */
    }
    return 0;
}

/* A start tag that is wanted: returned (want 1), or its pairs gathered (want 2). */
static int give(Scanner *self, const unsigned char *s, const TagInfo *tag, int want,
                PyObject *out)
{
    if (want == 1)
        return emit_tag(self, s, tag, out);
    if (want)
        return collect_pairs(self, s, tag, out);
    return 0;
}

/* ------------------------------------------------------------------ the scanning loop */

/* "<![CDATA[" opens a CDATA section only when the current node is foreign */
static int t_cdata_allowed(Scanner *t)
{
    return t->stack_len && t->stack[t->stack_len - 1].ns != NS_HTML;
}

/* Read the tag whose "<" is at i (a letter after it, or after "</"); 0: incomplete. With
 * classify, the attributes the rewriter reads are noted (see tag_end). */
static ALWAYS_INLINE int read_tag(const unsigned char *s, Py_ssize_t n, Py_ssize_t i, int is_end,
                                  TagInfo *tag, int classify)
{
    Py_ssize_t name_start = i + 1 + is_end, len, gt;
    const unsigned char *name = s + name_start;
    uint64_t words[2];
    int odd = 0, printable;
    /* (a byte loop: names are short, and SSE costs more here than it saves) */
    for (len = 1; name_start + len < n; len++) {
        int cls = CLS[name[len]];
        if (cls & C_NAME_STOP)
            break;
        odd |= cls;
    }
    /* printable: a name of KNOWN_MAX_LEN bytes at most, none of them a control byte or
     * non-ASCII, with 16 bytes of data from its start (its words are loaded whole) */
    printable = !(odd & (C_ODD_NAME | C_CONTROL)) && len <= KNOWN_MAX_LEN && name_start + 16 <= n;
    odd &= C_ODD_NAME; /* (the first byte is a letter) */
    tag->start = i;
    tag->is_end = is_end;
    tag->name_start = name_start;
    tag->name_len = len;
    tag->area_start = name_start + len;
    gt = tag_end(s, n, name_start + len, tag, classify);
    if (gt < 0)
        return 0;
    tag->area_end = tag->self_closing ? gt - 1 : gt;
    tag->end = gt + 1;
    tag->key = name;
    tag->key_len = len;
    tag->odd_name = odd;
    if (printable) {
        /* Setting bit 0x20 of each byte lowercases the letters, and makes no other byte
         * above 0x20 one of [a-z0-9-] (those of KNOWN's names): the words of a known name in
         * two operations, not lower8's eight on the way to its lookup. Only a name not in
         * KNOWN needs its hash (the counts), of its words lowercased. */
        words[0] = (load8(name) | 0x2020202020202020ull) & prefix8(len);
        words[1] = len > 8 ? (load8(name + 8) | 0x2020202020202020ull) & prefix8(len - 8) : 0;
        tag->known = known_words(words, len, known_hash(words), &tag->flags);
        if (tag->known >= 0)
            return 1;
        words[0] = lower8(load8(name)) & prefix8(len);
        words[1] = len > 8 ? lower8(load8(name + 8)) & prefix8(len - 8) : 0;
        tag->hash = words_hash(words); /* (counts: see open_count) */
        return 1;
    }
    if (len <= KNOWN_MAX_LEN) { /* KNOWN is looked up by the name's words */
        if (name_start + 16 <= n) {
            words[0] = lower8(load8(name)) & prefix8(len);
            words[1] = len > 8 ? lower8(load8(name + 8)) & prefix8(len - 8) : 0;
        }
        else {
            name_words(name, len, words);
        }
        tag->hash = words_hash(words);
        tag->flags = 0;
        tag->known = odd ? -1 : known_words(words, len, known_hash(words), &tag->flags);
    }
    else {
        tag->hash = name_hash(name, len);
        tag->known = -1;
        tag->flags = 0;
    }
    return 1;
}

/* Give a name with non-ASCII or NUL bytes (odd_name) its decoded key (see TagInfo.key). */
static int canonical_key(Scanner *self, const unsigned char *s, TagInfo *tag)
{
    PyObject *text, *key;
    text = decode_name(self, s + tag->name_start, tag->name_len);
    if (text == NULL)
        return -1;
    key = PyUnicode_AsEncodedString(text, "utf-8", "surrogatepass");
    Py_DECREF(text);
    if (key == NULL)
        return -1;
    Py_XSETREF(self->key_owner, key);
    tag->key = (const unsigned char *)PyBytes_AS_STRING(key);
    tag->key_len = PyBytes_GET_SIZE(key);
    tag->hash = name_hash(tag->key, tag->key_len);
    tag->known = known(tag->key, tag->key_len);
    tag->flags = tag->known < 0 ? 0 : KNOWN[tag->known].flags;
    return 1;
}

enum { CARRY_NONE, CARRY_SCRIPT, CARRY_RAW, CARRY_COMMENT, CARRY_CDATA, CARRY_BOGUS };

/* python_engine._PythonEngine._resume (and _resume_raw_text): read on in the carried construct
 * from pos. Returns 1 with *result just past its end, 0 when the data ends first (*result: how
 * far it is decided; the construct is still carried unless final), -1 on error. */
static int resume_carry(Scanner *self, const unsigned char *s, Py_ssize_t n, Py_ssize_t pos,
                        int final, PyObject *out, Py_ssize_t *result)
{
    Py_ssize_t end, keep;
    int kind = self->carry;
    if (kind == CARRY_SCRIPT || kind == CARRY_RAW) {
        const char *name = KNOWN[self->carry_raw].name;
        Py_ssize_t close;
        TagInfo end_tag;
        int end_want;
        if (kind == CARRY_SCRIPT) {
            close = script_end(s, n, pos, &self->carry_state, &pos);
            keep = 8; /* "</script" and one more byte decide */
        }
        else {
            close = raw_end(s, n, pos, name);
            keep = (Py_ssize_t)strlen(name) + 2;
        }
        if (close < 0 || !read_tag(s, n, close, 1, &end_tag, 0)) {
            if (final) {
                self->carry = CARRY_NONE;
                *result = n;
            }
            else if (close >= 0) {
                /* the end tag runs to the end of the data: found again there, same state */
                *result = pend_tag(self, s, n, close);
            }
            else {
                *result = pos > n - keep ? pos : n - keep;
            }
            return 0;
        }
        self->carry = CARRY_NONE;
        end_want = wanted_by_name(self, &end_tag);
        if (!end_want && !self->postbacks && self->n_hints)
            end_want = hinted(self, s, &end_tag);
        if (end_want && emit_tag(self, s, &end_tag, out) < 0)
            return -1;
        if (counts_into_regions(self, end_tag.known) && count_regions(self, &end_tag, out) < 0)
            return -1; /* (a panel's end: see scan_data) */
        /* (the end tag only closes the raw-text element, which the model never opened) */
        *result = end_tag.end;
        return 1;
    }
    if (kind == CARRY_COMMENT) {
        const unsigned char *dash;
        Py_ssize_t p;
        keep = 3;
        for (end = -1, p = pos; end < 0; p++) {
            dash = p < n ? memchr(s + p, '-', (size_t)(n - p)) : NULL;
            if (dash == NULL)
                break;
            p = dash - s;
            if (p + 2 < n && s[p + 1] == '-') {
                if (s[p + 2] == '>')
                    end = p + 3;
                else if (p + 3 < n && s[p + 2] == '!' && s[p + 3] == '>')
                    end = p + 4;
            }
        }
    }
    else if (kind == CARRY_CDATA) {
        keep = 2;
        end = find_bytes(s, n, pos, "]]>", 3);
        if (end >= 0)
            end += 3;
    }
    else { /* a bogus comment */
        keep = 0;
        end = find_bytes(s, n, pos, ">", 1);
        if (end >= 0)
            end += 1;
    }
    if (end >= 0) {
        self->carry = CARRY_NONE;
        *result = end;
        return 1;
    }
    if (final) {
        self->carry = CARRY_NONE;
        *result = n;
    }
    else {
        *result = pos > n - keep ? pos : n - keep;
    }
    return 0;
}

/* Carry the construct of kind that starts at i and runs past the data, reading from pos:
 * scan_data's way of calling resume_carry (see there). */
static int carry_on(Scanner *self, int kind, const unsigned char *s, Py_ssize_t n,
                    Py_ssize_t pos, int final, PyObject *out, Py_ssize_t *result)
{
    self->carry = kind;
    return resume_carry(self, s, n, pos, final, out, result);
}

/* Returns how far the data is tokenized, or -1 with an exception set. */
/* Whether a tag is only counted, not given to the tree model (html_start's and tree_end's
 * own work, which the scanning loop does itself): nothing foreign and no select open, and,
 * for an end tag, neither a table nor a form; for a start tag, none of the model's names, and
 * a table part only when a table (or template) is open, as in a grid's rows and cells (only
 * outside one does "in body" ignore it). Both of the loop's short ways ask it (plain_tag's
 * and read_tag's), so that they stay the same. */
static inline int only_counted(const Scanner *self, int flags, int is_end)
{
    if (self->stack_len || self->in_select)
        return 0;
    if (is_end)
        return !(flags & (F_TABLE | F_FORM));
    return !(flags & F_TREE)
           && (!(flags & F_IGNORED_IN_BODY) || self->table_depth
               || self->known_counts[known_template]);
}

static Py_ssize_t scan_data(Scanner *self, const unsigned char *s, Py_ssize_t n, int final,
                            PyObject *out, Py_ssize_t start)
{
    Py_ssize_t pos = start;
    int more;
#define UNDECIDED(at) return final ? n : (at)
/* a construct that started here, read on by resume_carry: stop there, or scan on after it */
#define CARRY(kind, from)                                                                  \
    do {                                                                                   \
        more = carry_on(self, (kind), s, n, (from), final, out, &pos);                     \
        if (more < 0)                                                                      \
            return -1;                                                                     \
        if (!more)                                                                         \
            return pos;                                                                    \
    } while (0)
    if (self->carry != CARRY_NONE) { /* the last piece ended inside raw text, a comment... */
        CARRY(self->carry, start);
    }
    for (;;) {
        Py_ssize_t i = find_byte(s, pos, n, '<');
        unsigned char c;
        TagInfo tag;
        int want, raw;
        if (i < 0)
            return n;
        if (i + 1 >= n)
            UNDECIDED(i); /* a "<" at the very end may open a tag once more bytes come */
        c = s[i + 1];
#ifdef PLAIN_TAGS
        /* A tag with a known name and no attributes that is counted and nothing more: not
         * wanted by name (a hint needs attributes, and so does a panel's start), not of an
         * open panel's name, nothing foreign and no select open, none of the model's names.
         * Its count as below, without read_tag (the rows and cells of a table, mostly:
         * "<tr>", "</td>"; inside a panel a partial postback asked for too). */
        if (i + 10 <= n && self->names != NULL && !(self->stack_len | self->in_select)) {
            int is_end = c == '/', flags, known;
            Py_ssize_t len;
            known = plain_tag(s + i + 1 + is_end, &len, &flags);
            if (known >= 0 && !self->wanted_known[known]
                && !counts_into_regions(self, known)) {
                Py_ssize_t *count = &self->known_counts[known];
                if (is_end && only_counted(self, flags, 1)) {
                    *count -= *count > 0;
                    pos = i + 3 + len;
                    continue;
                }
                if (!is_end && only_counted(self, flags, 0)) {
                    *count += !(flags & (F_VOID | F_NOT_COUNTED));
                    pos = i + 2 + len;
                    continue;
                }
            }
        }
#endif
        if (c == '!') {
            if (i + 4 <= n && memcmp(s + i + 2, "--", 2) == 0) {
                Py_ssize_t j = i + 4, p;
                if (j < n && s[j] == '>') {
                    pos = j + 1; /* "<!-->" */
                    continue;
                }
                if (j + 1 < n && s[j] == '-' && s[j + 1] == '>') {
                    pos = j + 2; /* "<!--->" */
                    continue;
                }
                for (p = j;; p++) {
                    const unsigned char *dash = p < n ? memchr(s + p, '-', (size_t)(n - p)) : NULL;
                    if (dash == NULL) {
                        /* carried once the bytes after "<!--" rule out "<!-->", "<!--->" */
                        if (j + 2 > n)
                            UNDECIDED(i);
                        CARRY(CARRY_COMMENT, j);
                        break;
                    }
                    p = dash - s;
                    if (p + 2 < n && s[p + 1] == '-') {
                        if (s[p + 2] == '>') {
                            pos = p + 3;
                            break;
                        }
                        if (p + 3 < n && s[p + 2] == '!' && s[p + 3] == '>') {
                            pos = p + 4;
                            break;
                        }
                    }
                }
                continue;
            }
            if (i + 9 <= n && memcmp(s + i + 2, "[CDATA[", 7) == 0) {
                /* a CDATA section in foreign content, else a bogus comment */
                CARRY(t_cdata_allowed(self) ? CARRY_CDATA : CARRY_BOGUS, i + 9);
                continue;
            }
        }
        if (c == '!' || c == '?') { /* bogus comment or DOCTYPE, to the first ">" */
            const unsigned char *gt = memchr(s + i + 1, '>', (size_t)(n - i - 1));
            if (gt == NULL) {
                /* ("<!" is a bogus comment once neither "<!--" nor "<![CDATA[" can follow) */
                if (c == '!' && i + 9 > n)
                    UNDECIDED(i);
                CARRY(CARRY_BOGUS, i + 1);
                continue;
            }
            pos = gt - s + 1;
            continue;
        }
        if (c == '/') {
            if (i + 2 >= n)
                UNDECIDED(i);
            if (s[i + 2] == '>') { /* "</>" emits nothing */
                pos = i + 3;
                continue;
            }
            if (!is_alpha(s[i + 2])) { /* "</3...>": a bogus comment */
                const unsigned char *gt = memchr(s + i + 2, '>', (size_t)(n - i - 2));
                if (gt == NULL) {
                    CARRY(CARRY_BOGUS, i + 2);
                    continue;
                }
                pos = gt - s + 1;
                continue;
            }
        }
        else if (!is_alpha(c)) {
            pos = i + 1; /* "<" as text */
            continue;
        }
        /* (is_end a constant in each call: where the name starts, and so the next tag, does
         * not wait for the load of c, a branch predicted instead) */
        if (!(c == '/' ? read_tag(s, n, i, 1, &tag, 0)
                       : read_tag(s, n, i, 0, &tag, self->classify))) {
            if (final)
                return n; /* an unterminated tag runs to the end of the document */
            return pend_tag(self, s, n, i);
        }
        if (tag.odd_name && canonical_key(self, s, &tag) < 0)
            return -1;
        /* (a start tag of an open panel's name is counted first: see count_regions) */
        if (!tag.is_end && counts_into_regions(self, tag.known)
            && count_regions(self, &tag, NULL) < 0)
            return -1;
        want = wanted_by_name(self, &tag);
        if (!want && tag.area_end > tag.area_start && self->n_hints) {
            if (!self->postbacks)
                want = hinted(self, s, &tag);
            else if (!tag.is_end
                     && ((tag.seen & A_POSTBACK)
                         || ((tag.seen & (SEEN(AT_ID) | SEEN(AT_NAME))) && hinted(self, s, &tag))
                         || ((tag.seen & A_SCRIPTED) && calls_postback(s, &tag))
                         || ((tag.seen & SEEN(AT_PANEL)) && self->n_panels
                             && hinted(self, s, &tag))))
                /* 2: wanted for its attributes only. The postback hints always occur in a
                 * tag with an A_POSTBACK name, so for those the search is skipped; any other
                 * tag matters only for its id or name, or (panels watched) as the start of a
                 * panel, looked at (decoded) when the tag's text has a hint, as
                 * python_engine._PythonEngine._wants and _emit do. */
                want = 2;
        }
        pos = tag.end;
        if (tag.is_end) {
            /* (want 2 never: the pairs are a start tag's; to the injector an <svg>'s </form>,
             * or one in a <select>, which ignores it, is no form's end: see
             * python_engine._PythonEngine._no_form_end) */
            if (want
                && !((tag.flags & F_FORM) && self->postbacks && !self->n_panels
                     && (self->in_select || closes_foreign(self, &tag)))
                && emit_tag(self, s, &tag, out) < 0)
                return -1;
            /* a tag of an open panel's name: counted, and the end of the panels it closes
             * given (watch_panels); the others cost no object */
            if (counts_into_regions(self, tag.known) && count_regions(self, &tag, out) < 0)
                return -1;
            if (!only_counted(self, tag.flags, 1)) {
                if (tree_end(self, &tag) < 0)
                    return -1;
            }
            else if (tag.known >= 0) { /* (count_add, without a branch on the count) */
                Py_ssize_t *count = &self->known_counts[tag.known];
                *count -= *count > 0;
            }
            else if (count_add(self, &tag, -1) < 0) {
                return -1;
            }
            continue;
        }
        if (only_counted(self, tag.flags, 0)) { /* (html_start's own work, in short) */
            if (want && give(self, s, &tag, want, out) < 0)
                return -1;
            if (tag.known >= 0) /* (count_add, without a branch on void elements) */
                self->known_counts[tag.known] += !(tag.flags & (F_VOID | F_NOT_COUNTED));
            else if (count_add(self, &tag, 1) < 0) /* (a name not in KNOWN is counted) */
                return -1;
            continue;
        }
        raw = tree_start(self, s, &tag);
        if (raw < 0)
            return -1;
        /* (python_engine._PythonEngine._no_form_start) */
        if (!((tag.flags & F_FORM) && self->postbacks && !self->n_panels
              && (self->started_foreign || self->in_select))
            && give(self, s, &tag, want, out) < 0)
            return -1;
        if (raw == 0)
            continue;
        if (raw == F_PLAINTEXT) {
            self->plaintext = 1; /* after <plaintext> nothing is markup any more */
            return n;
        }
        /* raw text: its state is carried over when the piece ends inside it (see
         * python_engine._PythonEngine._enter_raw_text) */
        self->carry_state = 0;
        self->carry_raw = tag.known; /* every raw-text element is known */
        CARRY(raw == F_SCRIPT ? CARRY_SCRIPT : CARRY_RAW, tag.end);
    }
#undef UNDECIDED
#undef CARRY
}

/* ------------------------------------------------------------------ the Python type */

static unsigned long long last_serial; /* (Scanner.serial: under the GIL) */

static int Scanner_init(Scanner *self, PyObject *args, PyObject *kwds)
{
    static char *keywords[] = {"encoding", "names", "hints", "postbacks", "decode_text",
                               "decode_value", "tag_type", "cuts", "family_type", "rows_type",
                               "bare_type", "panel_end_type", NULL};
    const char *encoding;
    PyObject *names, *hints, *decode_text, *decode_value, *tag_type, *family_type = Py_None;
    PyObject *rows_type = Py_None, *bare_type = Py_None, *panel_end_type = Py_None;
    int postbacks, cuts = 0;
    Py_ssize_t k;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "sOO!pOOO!|pOOOO", keywords, &encoding,
                                     &names, &PyTuple_Type, &hints, &postbacks, &decode_text,
                                     &decode_value, &PyType_Type, &tag_type, &cuts,
                                     &family_type, &rows_type, &bare_type, &panel_end_type))
        return -1;
    if (!self->serial)
        self->serial = ++last_serial;
    if (bare_type != Py_None
        && (!PyType_Check(bare_type) || !postbacks
            || !PyType_IsSubtype((PyTypeObject *)bare_type, &PyTuple_Type)
            || ((PyTypeObject *)bare_type)->tp_basicsize != PyTuple_Type.tp_basicsize)) {
        PyErr_SetString(PyExc_TypeError,
                        "bare_type must be a tuple subclass without slots, in postbacks mode");
        return -1;
    }
    if (panel_end_type != Py_None
        && (!PyType_Check(panel_end_type)
            || !PyType_IsSubtype((PyTypeObject *)panel_end_type, &PyTuple_Type)
            || ((PyTypeObject *)panel_end_type)->tp_basicsize != PyTuple_Type.tp_basicsize)) {
        PyErr_SetString(PyExc_TypeError, "panel_end_type must be a tuple subclass without slots");
        return -1;
    }
    if ((family_type != Py_None || rows_type != Py_None)
        && (!PyType_Check(family_type) || !PyType_Check(rows_type) || !postbacks)) {
        PyErr_SetString(PyExc_TypeError,
                        "family_type and rows_type must be types, both, in postbacks mode");
        return -1;
    }
    if (cuts && (names != Py_None || postbacks)) {
        PyErr_SetString(PyExc_ValueError, "cuts mode reads every tag: names None, no postbacks");
        return -1;
    }
    if (!PyType_IsSubtype((PyTypeObject *)tag_type, &PyTuple_Type)
        || ((PyTypeObject *)tag_type)->tp_basicsize != PyTuple_Type.tp_basicsize) {
        PyErr_SetString(PyExc_TypeError, "tag_type must be a tuple subclass without slots");
        return -1;
    }
    if (names != Py_None && !PyTuple_Check(names)) {
        PyErr_SetString(PyExc_TypeError, "names must be a tuple of bytes or None");
        return -1;
    }
    for (k = 0; names != Py_None && k < PyTuple_GET_SIZE(names); k++) {
        PyObject *name = PyTuple_GET_ITEM(names, k);
        if (!PyBytes_Check(name)) {
            PyErr_SetString(PyExc_TypeError, "names must be a tuple of bytes or None");
            return -1;
        }
    }
    memset(self->wanted_known, 0, sizeof(self->wanted_known));
    self->wanted_unknown = 0;
    for (k = 0; names != Py_None && k < PyTuple_GET_SIZE(names); k++) {
        PyObject *name = PyTuple_GET_ITEM(names, k);
        const unsigned char *text = (const unsigned char *)PyBytes_AS_STRING(name);
        Py_ssize_t len = PyBytes_GET_SIZE(name);
        int index = known(text, len);
        if (index >= 0 && (Py_ssize_t)strlen(KNOWN[index].name) == len)
            self->wanted_known[index] = 1;
        else
            self->wanted_unknown = 1;
    }
    for (k = 0; k < PyTuple_GET_SIZE(hints); k++) {
        PyObject *hint = PyTuple_GET_ITEM(hints, k);
        if (!PyBytes_Check(hint) || PyBytes_GET_SIZE(hint) == 0) {
            PyErr_SetString(PyExc_TypeError, "hints must be non-empty lowercase bytes");
            return -1;
        }
    }
    if (postbacks && PyTuple_GET_SIZE(hints)) {
        /* As in python_engine: the injector also reads form, formaction and formmethod
         * attributes, so its text search has "form" too. (They are told by name here, but
         * the search decides whether a tag with an id or a name is looked at: see
         * scan_data.) */
        PyObject *form = Py_BuildValue("(y)", "form");
        if (form == NULL)
            return -1;
        hints = PySequence_Concat(hints, form);
        Py_DECREF(form);
        if (hints == NULL)
            return -1;
    }
    else {
        Py_INCREF(hints);
    }
    memset(self->hint_first, 0, sizeof(self->hint_first));
    for (k = 0; k < PyTuple_GET_SIZE(hints); k++) {
        PyObject *hint = PyTuple_GET_ITEM(hints, k);
        unsigned char first = (unsigned char)PyBytes_AS_STRING(hint)[0];
        self->hint_first[first] = 1;
        if (first >= 'a' && first <= 'z')
            self->hint_first[first - 32] = 1;
    }
    if (!PyCallable_Check(decode_text) || !PyCallable_Check(decode_value)) {
        PyErr_SetString(PyExc_TypeError, "decode_text and decode_value must be callable");
        Py_DECREF(hints);
        return -1;
    }
    PyMem_Free(self->encoding);
    self->encoding = PyMem_Malloc(strlen(encoding) + 1);
    if (self->encoding == NULL) {
        PyErr_NoMemory();
        Py_DECREF(hints);
        return -1;
    }
    strcpy(self->encoding, encoding);
    self->utf8 = strcmp(encoding, "utf-8") == 0;
    Py_XSETREF(self->names, names == Py_None ? NULL : Py_NewRef(names));
    Py_XSETREF(self->hints, hints); /* (a new reference, above) */
    self->n_hints = PyTuple_GET_SIZE(hints);
    Py_XSETREF(self->decode_text, Py_NewRef(decode_text));
    Py_XSETREF(self->decode_value, Py_NewRef(decode_value));
    Py_XSETREF(self->tag_type, (PyTypeObject *)Py_NewRef(tag_type));
    self->postbacks = postbacks;
    batch_clear(&self->batch);
    Py_XSETREF(self->batch.family_type,
               family_type == Py_None ? NULL : Py_NewRef(family_type));
    Py_XSETREF(self->batch.rows_type, rows_type == Py_None ? NULL : Py_NewRef(rows_type));
    Py_XSETREF(self->bare_type,
               bare_type == Py_None ? NULL : (PyTypeObject *)Py_NewRef(bare_type));
    Py_XSETREF(self->panel_end_type, panel_end_type == Py_None
               ? NULL : (PyTypeObject *)Py_NewRef(panel_end_type));
    self->bare_pending = 0;
    self->carry = CARRY_NONE; /* (a scanner starts a document) */
    self->tag_pending = 0;
    Py_CLEAR(self->panels); /* (and watches no panels until told: watch_panels) */
    self->n_panels = 0;
    regions_free(self);
    self->classify = postbacks;
    self->cuts = cuts;
    self->n_cut_open = self->cut_names_len = self->last_cut = 0;
    return 0;
}

static void Scanner_dealloc(Scanner *self)
{
    PyObject_GC_UnTrack(self);
    stack_truncate(self, 0);
    PyMem_Free(self->stack);
    counts_free(&self->counts);
    PyMem_Free(self->changed);
    PyMem_Free(self->encoding);
    Py_CLEAR(self->names);
    Py_CLEAR(self->hints);
    Py_CLEAR(self->decode_text);
    Py_CLEAR(self->decode_value);
    Py_CLEAR(self->tag_type);
    Py_CLEAR(self->bare_type);
    Py_CLEAR(self->panel_end_type);
    batch_free(&self->batch);
    Py_CLEAR(self->key_owner);
    PyMem_Free(self->last_target_raw);
    Py_CLEAR(self->last_target_text);
    Py_CLEAR(self->panels);
    regions_free(self);
    PyMem_Free(self->cut_names);
    PyMem_Free(self->cut_open);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int Scanner_traverse(Scanner *self, visitproc visit, void *arg)
{
    Py_VISIT(self->decode_text);
    Py_VISIT(self->decode_value);
    Py_VISIT(self->tag_type);
    Py_VISIT(self->bare_type);
    Py_VISIT(self->panel_end_type);
    Py_VISIT(self->panels); /* (the ids given: any objects) */
    Py_VISIT(self->batch.family_type);
    Py_VISIT(self->batch.rows_type);
    return 0; /* (the batch and the memories hold strings only) */
}

static int Scanner_clear(Scanner *self)
{
    Py_CLEAR(self->decode_text);
    Py_CLEAR(self->decode_value);
    Py_CLEAR(self->tag_type);
    Py_CLEAR(self->bare_type);
    Py_CLEAR(self->panel_end_type);
    Py_CLEAR(self->panels);
    Py_CLEAR(self->batch.family_type);
    Py_CLEAR(self->batch.rows_type);
    self->n_panels = 0;
    return 0;
}

/* watch_panels(ids): python_engine._PythonEngine.watch_panels. Also return the start tag of
 * each panel named (a data-update-panel attribute and an id in ids) and, where its element
 * ends (the same name, counted with nesting, as partial.end_tag counts), a PanelEnd
 * (count_regions). The ids replace any given before; the regions open stay open (a page
 * streamed in pieces). */
static PyObject *Scanner_watch_panels(Scanner *self, PyObject *args, PyObject *kwds)
{
    static char *keywords[] = {"ids", NULL};
    PyObject *ids, *panels;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O:watch_panels", keywords, &ids))
        return NULL;
    if (self->panel_end_type == NULL) {
        PyErr_SetString(PyExc_TypeError, "watch_panels needs the scanner's panel_end_type");
        return NULL;
    }
    panels = PyFrozenSet_New(ids); /* (frozenset(ids), as the Python engine keeps them) */
    if (panels == NULL)
        return NULL;
    Py_XSETREF(self->panels, panels);
    self->n_panels = PySet_GET_SIZE(panels);
    self->classify = 1; /* whether a start tag opens a panel is told by its attributes */
    Py_RETURN_NONE;
}

/* scan(data, final), positional (METH_FASTCALL: a streamed page calls it for every piece) */
static PyObject *Scanner_scan(Scanner *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer data;
    int final;
    PyObject *out, *result;
    Py_ssize_t decided, start = 0;
    if (nargs != 2 && nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "scan() takes data, final and an optional start");
        return NULL;
    }
    final = PyObject_IsTrue(args[1]);
    if (final < 0)
        return NULL;
    if (nargs == 3) {
        start = PyLong_AsSsize_t(args[2]);
        if (start == -1 && PyErr_Occurred())
            return NULL;
    }
    if (self->hints == NULL || self->decode_text == NULL || self->decode_value == NULL
        || self->tag_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Scanner is not initialised");
        return NULL;
    }
    if (self->cuts && !final) {
        PyErr_SetString(PyExc_ValueError, "cuts mode reads a whole document: final=True");
        return NULL;
    }
    if (PyObject_GetBuffer(args[0], &data, PyBUF_SIMPLE) < 0)
        return NULL;
    self->fresh = 0; /* (its counts are its own now: see Scanner_restart_into) */
    if (start < 0 || start > data.len) {
        PyBuffer_Release(&data);
        PyErr_SetString(PyExc_ValueError, "scan(): start out of the data's range");
        return NULL;
    }
    self->n_cut_open = self->cut_names_len = self->last_cut = 0; /* (cuts: one document) */
    out = PyList_New(0);
    if (out == NULL) {
        PyBuffer_Release(&data);
        return NULL;
    }
    if (self->tag_pending) { /* read on in the open tag, from where it was left */
        int state = self->tag_state;
        Py_ssize_t from = self->tag_pos < data.len - start ? start + self->tag_pos : data.len;
        if (tag_progress((const unsigned char *)data.buf, data.len, from, &state) < 0 && !final) {
            self->tag_state = state;
            self->tag_pos = data.len - start;
            PyBuffer_Release(&data);
            return Py_BuildValue("(Nn)", out, start); /* nothing decided yet */
        }
        self->tag_pending = 0; /* complete (or the document ends): tokenized whole, once */
    }
    self->batch.out = out; /* (where run_close gives out a run, mid-stretch) */
    self->batch.before_out = self->bare_type != NULL ? flush_held : NULL;
    self->batch.before_out_ctx = self;
    if (self->plaintext)
        decided = data.len;
    else
        decided = scan_data(self, (const unsigned char *)data.buf, data.len, final, out, start);
    self->batch.out = NULL;
    /* (a form held back is returned as a Tag: its offsets are this data's) */
    if (self->bare_pending && (decided < 0
                               || flush_bare(self, (const unsigned char *)data.buf, out) < 0)) {
        self->bare_pending = 0;
        decided = -1;
    }
    PyBuffer_Release(&data);
    /* (the end of the document ends the stretch of pairs) */
    if (decided < 0 || (final && batch_flush(&self->batch, out) < 0)) {
        batch_clear(&self->batch);
        Py_DECREF(out);
        return NULL;
    }
    result = Py_BuildValue("(Nn)", out, decided);
    return result;
}

/* in_data: whether the data read so far was decided in the data state, where a "<" opens a
 * tag: not inside a tag, raw text, a comment, a CDATA section or a bogus comment, nor after
 * <plaintext> (_PythonEngine.in_data). */
/* open_regions: _PythonEngine.open_regions (a test's look at watch_panels' work). */
static PyObject *Scanner_open_regions(Scanner *self, void *closure)
{
    (void)closure;
    return PyLong_FromSsize_t(self->n_regions);
}

static PyObject *Scanner_in_data(Scanner *self, void *closure)
{
    (void)closure;
    return PyBool_FromLong(self->carry == CARRY_NONE && !self->tag_pending && !self->plaintext);
}

static PyTypeObject ScannerType;

/* restart_into(other): put other (a scanner of this module that is to read the rest of the
 * document, from where this one decided) in the state this one decided in, if a new scanner
 * can read on from there as this one reads on: in the data state (a tag read in part starts
 * there), outside foreign content and a <select>. What is left of the tree model then tells
 * how the rest is tokenized (an end tag in a later <svg> closes it when an HTML element of
 * its name is open; a <form> in its <foreignObject> is ignored while a form is open; a
 * <select> opened in a table ends at a table part), and is copied: the open elements' counts,
 * the form pointer, the tables open. Returns whether it did (other is left as it was if
 * not). _PythonEngine.restart_into is its twin. */
static PyObject *Scanner_restart_into(Scanner *self, PyObject *arg)
{
    Scanner *other;
    size_t i;
    if (!PyObject_TypeCheck(arg, &ScannerType)) {
        PyErr_SetString(PyExc_TypeError, "restart_into: another compiled scanner");
        return NULL;
    }
    other = (Scanner *)arg;
    if (self->carry != CARRY_NONE || self->plaintext || self->stack_len || self->in_select)
        Py_RETURN_FALSE;
    if (other == self)
        Py_RETURN_TRUE;
    if (self->tracking && other->serial && self->copied_into == other->serial && other->fresh
        && other->copied_from == self->serial
        && self->tracked_capacity == self->counts.capacity) {
        /* the same one again, untouched since: the counts changed since then, only (a
         * streamed page is restarted into the same one for each piece, see the injector) */
        for (i = 0; i < self->n_changed; i++) {
            CountSlot *from = &self->counts.slots[self->changed[i]], *to;
            from->changed = 0;
            to = counts_find(&other->counts, from->key, from->len, from->hash,
                             from->count != 0);
            if (to == NULL && from->count != 0) {
                self->tracking = 0; /* (the next restart copies all) */
                return PyErr_NoMemory();
            }
            if (to != NULL)
                to->count = from->count;
        }
        self->n_changed = 0;
    }
    else {
        self->tracking = 0;
        self->n_changed = 0;
        for (i = 0; other->counts.slots != NULL && i < other->counts.capacity; i++)
            other->counts.slots[i].count = 0;
        for (i = 0; self->counts.slots != NULL && i < self->counts.capacity; i++) {
            CountSlot *from = &self->counts.slots[i], *to;
            from->changed = 0;
            if (from->key == NULL || from->count == 0)
                continue;
            to = counts_find(&other->counts, from->key, from->len, from->hash, 1);
            if (to == NULL)
                return PyErr_NoMemory();
            to->count = from->count;
        }
        self->tracking = 1;
        self->tracked_capacity = self->counts.capacity;
        self->copied_into = other->serial;
        other->copied_from = self->serial;
    }
    other->fresh = 1;
    memcpy(other->known_counts, self->known_counts, sizeof(self->known_counts));
    stack_truncate(other, 0);
    other->in_select = other->select_in_table = other->plaintext = 0;
    other->carry = CARRY_NONE;
    other->tag_pending = 0;
    other->form_open = self->form_open;
    other->table_depth = self->table_depth;
    Py_RETURN_TRUE;
}

static PyGetSetDef Scanner_getset[] = {
    {"in_data", (getter)Scanner_in_data, NULL,
     "whether the data so far was decided in the data state", NULL},
    {"open_regions", (getter)Scanner_open_regions, NULL,
     "how many panels asked for are open (at most one a panel id)", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef Scanner_methods[] = {
    {"scan", (PyCFunction)(void (*)(void))Scanner_scan, METH_FASTCALL,
     "scan(data, final, start=0) -> (items, decided)"},
    {"restart_into", (PyCFunction)Scanner_restart_into, METH_O,
     "restart_into(other) -> bool: other reads on from where this one decided, as it does"},
    {"watch_panels", (PyCFunction)(void (*)(void))Scanner_watch_panels,
     METH_VARARGS | METH_KEYWORDS,
     "watch_panels(ids): also return the tags of the update panels with these ids"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "postback_middleware.html_scan._cscan.Scanner",
    .tp_doc = "The compiled engine of postback_middleware.html_scan (see _cscan.c).",
    .tp_basicsize = sizeof(Scanner),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Scanner_init,
    .tp_dealloc = (destructor)Scanner_dealloc,
    .tp_traverse = (traverseproc)Scanner_traverse,
    .tp_clear = (inquiry)Scanner_clear,
    .tp_methods = Scanner_methods,
    .tp_getset = Scanner_getset,
};

/* -------------------------------------------------------------------------------------
 * splice_forms: the injector's splice of a piece's fields, for the forms signed in bulk
 * (inject._BareForms), in one pass: inject.FieldInjector._apply is its caller and its
 * Python twin the reference (a property test holds them equal). */

/* The number of decimal digits of v (v >= 0). */
static Py_ssize_t decimal_len(Py_ssize_t v)
{
    Py_ssize_t len = 1;
    while (v >= 10) {
        v /= 10;
        len++;
    }
    return len;
}

/* An offset into a document of n bytes, at least at_least: an exact int, or -1 with an
 * error set. */
static Py_ssize_t offset_in(PyObject *item, Py_ssize_t at_least, Py_ssize_t n)
{
    Py_ssize_t offset;
    if (!PyLong_CheckExact(item)) {
        PyErr_SetString(PyExc_TypeError, "splice_forms: an offset must be an int");
        return -1;
    }
    offset = PyLong_AsSsize_t(item);
    if (offset == -1 && PyErr_Occurred())
        return -1;
    if (offset < at_least || offset > n) {
        PyErr_SetString(PyExc_ValueError, "splice_forms: offsets out of order or range");
        return -1;
    }
    return offset;
}

/* Add len to *total, or fail (a size past what a bytes object can hold). */
static int grow(Py_ssize_t *total, Py_ssize_t len)
{
    if (len > PY_SSIZE_T_MAX - *total) {
        PyErr_SetString(PyExc_OverflowError, "splice_forms: the result is too large");
        return -1;
    }
    *total += len;
    return 0;
}

/* splice_forms(document, insertions, offsets, start, middle, tags, end, first) -> bytes:
 * document with each of insertions (a list of (offset, bytes) in order of offset) inserted
 * at its offset, and at each of offsets (in order, after an insertion at the same offset)
 * the bytes start + str(first + i) + middle + tag + end, where tag is the i-th of tags cut
 * in len(offsets) equal parts (b"": none). */
static PyObject *splice_forms(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *document, *insertions, *offsets, *start, *middle, *tags, *end, *result = NULL;
    Py_ssize_t n, n_ins, n_off, first, total, i, j, cursor, last, tag_size, each;
    Py_ssize_t *ins_at = NULL, *off_at = NULL;
    const char *doc;
    char *out, digits[32];
    (void)module;
    if (nargs != 8) {
        PyErr_SetString(PyExc_TypeError, "splice_forms takes 8 arguments");
        return NULL;
    }
    document = args[0], insertions = args[1], offsets = args[2];
    start = args[3], middle = args[4], tags = args[5], end = args[6];
    if (!PyBytes_CheckExact(document) || !PyList_CheckExact(insertions)
        || !PyList_CheckExact(offsets) || !PyBytes_CheckExact(start)
        || !PyBytes_CheckExact(middle) || !PyBytes_CheckExact(tags)
        || !PyBytes_CheckExact(end)) {
        PyErr_SetString(PyExc_TypeError,
                        "splice_forms(bytes, list, list, bytes, bytes, bytes, bytes, int)");
        return NULL;
    }
    first = PyLong_AsSsize_t(args[7]);
    if (first == -1 && PyErr_Occurred())
        return NULL;
    n = PyBytes_GET_SIZE(document);
    n_ins = PyList_GET_SIZE(insertions);
    n_off = PyList_GET_SIZE(offsets);
    tag_size = n_off ? PyBytes_GET_SIZE(tags) / n_off : 0;
    if (first < 0 || first > PY_SSIZE_T_MAX - n_off
        || tag_size * n_off != PyBytes_GET_SIZE(tags)) {
        PyErr_SetString(PyExc_ValueError,
                        "splice_forms: first < 0, or the tags are not one a form, of one size");
        return NULL;
    }
    ins_at = PyMem_New(Py_ssize_t, n_ins ? n_ins : 1);
    off_at = PyMem_New(Py_ssize_t, n_off ? n_off : 1);
    if (ins_at == NULL || off_at == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    /* The size, every item checked (no Python code runs between this and the writing). */
    total = n;
    for (i = 0, last = 0; i < n_ins; i++) {
        PyObject *item = PyList_GET_ITEM(insertions, i);
        if (!PyTuple_CheckExact(item) || PyTuple_GET_SIZE(item) != 2
            || !PyBytes_CheckExact(PyTuple_GET_ITEM(item, 1))) {
            PyErr_SetString(PyExc_TypeError, "splice_forms: an insertion is (int, bytes)");
            goto done;
        }
        last = ins_at[i] = offset_in(PyTuple_GET_ITEM(item, 0), last, n);
        if (last < 0 || grow(&total, PyBytes_GET_SIZE(PyTuple_GET_ITEM(item, 1))) < 0)
            goto done;
    }
    /* what each form writes but its index (the sizes are checked: no overflow) */
    each = PyBytes_GET_SIZE(start);
    if (grow(&each, PyBytes_GET_SIZE(middle)) < 0 || grow(&each, tag_size) < 0
        || grow(&each, PyBytes_GET_SIZE(end)) < 0)
        goto done;
    for (j = 0, last = 0; j < n_off; j++) {
        last = off_at[j] = offset_in(PyList_GET_ITEM(offsets, j), last, n);
        if (last < 0 || grow(&total, each) < 0 || grow(&total, decimal_len(first + j)) < 0)
            goto done;
    }
    result = PyBytes_FromStringAndSize(NULL, total);
    if (result == NULL)
        goto done;
    out = PyBytes_AS_STRING(result);
    doc = PyBytes_AS_STRING(document);
    for (i = 0, j = 0, cursor = 0; i < n_ins || j < n_off;) {
        Py_ssize_t at, len;
        if (i < n_ins && (j == n_off || ins_at[i] <= off_at[j])) {
            PyObject *text = PyTuple_GET_ITEM(PyList_GET_ITEM(insertions, i), 1);
            at = ins_at[i++];
            memcpy(out, doc + cursor, (size_t)(at - cursor));
            out += at - cursor;
            memcpy(out, PyBytes_AS_STRING(text), (size_t)PyBytes_GET_SIZE(text));
            out += PyBytes_GET_SIZE(text);
        }
        else {
            at = off_at[j];
            memcpy(out, doc + cursor, (size_t)(at - cursor));
            out += at - cursor;
            memcpy(out, PyBytes_AS_STRING(start), (size_t)PyBytes_GET_SIZE(start));
            out += PyBytes_GET_SIZE(start);
            len = (Py_ssize_t)snprintf(digits, sizeof(digits), "%zd", first + j);
            memcpy(out, digits, (size_t)len);
            out += len;
            memcpy(out, PyBytes_AS_STRING(middle), (size_t)PyBytes_GET_SIZE(middle));
            out += PyBytes_GET_SIZE(middle);
            memcpy(out, PyBytes_AS_STRING(tags) + tag_size * j, (size_t)tag_size);
            out += tag_size;
            memcpy(out, PyBytes_AS_STRING(end), (size_t)PyBytes_GET_SIZE(end));
            out += PyBytes_GET_SIZE(end);
            j++;
        }
        cursor = at;
    }
    memcpy(out, doc + cursor, (size_t)(n - cursor));
done:
    PyMem_Free(ins_at);
    PyMem_Free(off_at);
    return result;
}

/* -------------------------------------------------------------------------------------
 * find_post_form: where a post form may start in a page, read without a scan
 * (html_scan.scanners.python_find_post_form is the reference; property tests hold the two
 * equal, and the injector's result on every page it says holds none). */

/* what the bytes it passed over showed (html_scan.FORM_TAGS, POSTBACK_WORDS) */
enum { FORM_TAGS = 1, POSTBACK_WORDS = 2 };
enum { MAY_POST = -1, OTHER_NAME = 0 }; /* (form_may_post's other answers) */

/* What the "<form" at p says, read as a form start tag would be (wherever it stands: in a
 * script or a comment too; the caller's scan tells): MAY_POST when its method may be POST
 * (the tag runs past the document, or its method's raw value is "post" in any case, holds a
 * character reference or a non-ASCII byte), FORM_TAGS for another form start tag, OTHER_NAME
 * for another tag's name ("<formula"). */
static int form_may_post(const unsigned char *s, Py_ssize_t n, Py_ssize_t p)
{
    Py_ssize_t q = p + 5, gt, limit, pos, k;
    TagInfo tag;
    Attr attr;
    if (q >= n)
        return MAY_POST;
    if (!(CLS[s[q]] & C_NAME_STOP))
        return OTHER_NAME;
    gt = tag_end(s, n, q, &tag, 0);
    if (gt < 0)
        return MAY_POST;
    limit = tag.self_closing ? gt - 1 : gt;
    pos = q;
    while (next_attr(s, &pos, limit, &attr)) {
        if (attr.value_start < 0
            || !eq_ci(s + attr.name_start, attr.name_end - attr.name_start, "method"))
            continue;
        if (eq_ci(s + attr.value_start, attr.value_end - attr.value_start, "post"))
            return MAY_POST;
        for (k = attr.value_start; k < attr.value_end; k++)
            if (s[k] == '&' || s[k] >= 0x80)
                return MAY_POST;
    }
    return FORM_TAGS;
}

/* Whether s[p:] begins "<form" or "postback" (ASCII case-insensitive): a word to look at. */
static inline int post_word(const unsigned char *s, Py_ssize_t n, Py_ssize_t p)
{
    if (s[p] == '<')
        return p + 5 <= n && starts_ci(s + p + 1, "form", 4);
    return p + 8 <= n && starts_ci(s + p, "postback", 8);
}

/* The offset of the next word from pos on, or -1. Both words have a known byte 4 bytes
 * after their first ("<" and "m" of "<form", "p" and "b" of "postback"): 16 positions at a
 * time, a position is looked at only where both bytes are there (SSE2), so an ordinary page
 * costs a few instructions each 16 bytes. */
static Py_ssize_t next_post_word(const unsigned char *s, Py_ssize_t n, Py_ssize_t pos)
{
#ifdef __SSE2__
    const __m128i case_bit = _mm_set1_epi8(0x20);
    for (; pos + 20 <= n; pos += 16) {
        __m128i first = load16(s + pos), fifth = _mm_or_si128(load16(s + pos + 4), case_bit);
        __m128i form = _mm_and_si128(bytes_eq(first, '<'), bytes_eq(fifth, 'm'));
        __m128i postback = _mm_and_si128(bytes_eq(_mm_or_si128(first, case_bit), 'p'),
                                         bytes_eq(fifth, 'b'));
        unsigned mask = (unsigned)_mm_movemask_epi8(_mm_or_si128(form, postback));
        for (; mask; mask &= mask - 1) {
            Py_ssize_t at = pos + __builtin_ctz(mask);
            if (post_word(s, n, at))
                return at;
        }
    }
#endif
    for (; pos < n; pos++)
        if (post_word(s, n, pos))
            return pos;
    return -1;
}

/* find_post_form(document, start) -> (at, seen): the offset of the first "<form" at or
 * after start that may open a post form, or -1; and what document[start:at] showed (the
 * rest, without one): FORM_TAGS | POSTBACK_WORDS. document: any buffer. */
static PyObject *find_post_form(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer view;
    const unsigned char *s;
    Py_ssize_t n, pos, at = -1;
    int seen = 0;
    (void)module;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "find_post_form takes 2 arguments: document, start");
        return NULL;
    }
    pos = PyLong_AsSsize_t(args[1]);
    if (pos == -1 && PyErr_Occurred())
        return NULL;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    s = (const unsigned char *)view.buf;
    n = view.len;
    if (pos < 0 || pos > n) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "find_post_form: start out of the document's range");
        return NULL;
    }
    while ((pos = next_post_word(s, n, pos)) >= 0) {
        int found = s[pos] == '<' ? form_may_post(s, n, pos) : POSTBACK_WORDS;
        if (found == MAY_POST) {
            at = pos;
            break;
        }
        seen |= found;
        pos++;
    }
    PyBuffer_Release(&view);
    return Py_BuildValue("(ni)", at, seen);
}

/* -------------------------------------------------------------------------------------
 * plain_actions and take_bare: the injector's reading of a piece's bare forms (a list
 * page's delete or vote forms, html_scan.BareForm), without a Python step a form:
 * inject._plain_actions and inject._take_bare are their Python twins and the reference
 * (property tests hold them equal). */

/* The characters of a plain action (inject._PLAIN_ROOT_PATH; a relative one's are the same
 * but ":", which would end a scheme): 1 both, 2 from the root only. */
static unsigned char PLAIN_ACTION[256];

static void init_plain_action(void)
{
    const char *both = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,=@/";
    for (; *both; both++)
        PLAIN_ACTION[(unsigned char)*both] = 1;
    PLAIN_ACTION[':'] = 2;
}

/* How an action reads at a look (inject._plain_actions, for one): 1 from the root, 2
 * relative, 0 neither. */
static int plain_action(PyObject *action)
{
    const unsigned char *text;
    Py_ssize_t len, k;
    int root, relative;
    if (!PyUnicode_CheckExact(action) || !PyUnicode_IS_ASCII(action))
        return 0;
    text = PyUnicode_1BYTE_DATA(action);
    len = PyUnicode_GET_LENGTH(action);
    if (len == 0)
        return 0;
    /* from the root: "/" not followed by "/"; relative: neither "/" nor "." first */
    root = text[0] == '/' && (len < 2 || text[1] != '/');
    relative = text[0] != '/' && text[0] != '.';
    for (k = 0; k < len && (root || relative); k++) {
        unsigned char c = text[k], kind = PLAIN_ACTION[c];
        if (kind == 0)
            return 0;
        if (kind == 2)
            relative = 0;
        if (c == '/' && k + 1 < len) {
            if (text[k + 1] == '.') /* a dot segment, or what the parser may read as one */
                return 0;
            if (text[k + 1] == '/')
                relative = 0; /* (an empty segment, which the parser drops) */
        }
    }
    return root ? 1 : relative ? 2 : 0;
}

/* Whether type is tuple or a subtype of it (its items are read as a tuple's). */
static int is_tuple_type(PyObject *type)
{
    return PyType_Check(type) && PyType_IsSubtype((PyTypeObject *)type, &PyTuple_Type);
}

/* plain_actions(items, bare_type) -> int: how the actions of the items of type bare_type
 * (exactly) read, all alike: 1 from the root, 2 relative; 0 when not all alike, when one
 * has no action, or when there are fewer than two. */
static PyObject *plain_actions(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *items, *bare_type;
    Py_ssize_t k, count = 0;
    int kind = 0;
    if (nargs != 2 || !PyList_CheckExact(args[0]) || !is_tuple_type(args[1])) {
        PyErr_SetString(PyExc_TypeError, "plain_actions(list, a tuple type)");
        return NULL;
    }
    items = args[0];
    bare_type = args[1];
    for (k = 0; k < PyList_GET_SIZE(items); k++) {
        PyObject *item = PyList_GET_ITEM(items, k);
        int read;
        if ((PyObject *)Py_TYPE(item) != bare_type)
            continue;
        if (PyTuple_GET_SIZE(item) < 6)
            return PyLong_FromLong(0);
        read = plain_action(PyTuple_GET_ITEM(item, 4));
        if (read == 0 || (count && read != kind))
            return PyLong_FromLong(0);
        kind = read;
        count++;
    }
    return PyLong_FromLong(count >= 2 ? kind : 0);
}

/* take_bare(items, start, before, bare_type, tags, paths, pairs, ends) -> int: the items of
 * type bare_type (exactly) from start on, up to the first of another type, each appended to
 * tags, its path (before + its action) to paths, its pairs (a new dict for none) to pairs
 * and its start tag's end to ends; how many. */
static PyObject *take_bare(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *items, *before, *bare_type, *tags, *paths, *pairs, *ends;
    Py_ssize_t start, k;
    if (nargs != 8 || !PyList_CheckExact(args[0]) || !PyLong_CheckExact(args[1])
        || !PyUnicode_CheckExact(args[2]) || !is_tuple_type(args[3])
        || !PyList_CheckExact(args[4]) || !PyList_CheckExact(args[5])
        || !PyList_CheckExact(args[6]) || !PyList_CheckExact(args[7])) {
        PyErr_SetString(PyExc_TypeError,
                        "take_bare(list, int, str, a tuple type, list, list, list, list)");
        return NULL;
    }
    items = args[0];
    before = args[2];
    bare_type = args[3];
    tags = args[4];
    paths = args[5];
    pairs = args[6];
    ends = args[7];
    start = PyLong_AsSsize_t(args[1]);
    if (start == -1 && PyErr_Occurred())
        return NULL;
    if (start < 0) {
        PyErr_SetString(PyExc_ValueError, "take_bare: start < 0");
        return NULL;
    }
    for (k = start; k < PyList_GET_SIZE(items); k++) {
        PyObject *item = PyList_GET_ITEM(items, k), *action, *given, *path, *own;
        int full;
        if ((PyObject *)Py_TYPE(item) != bare_type)
            break;
        if (PyTuple_GET_SIZE(item) < 6 || !PyUnicode_Check(PyTuple_GET_ITEM(item, 4))) {
            PyErr_SetString(PyExc_TypeError, "take_bare: a form without an action (str)");
            return NULL;
        }
        action = PyTuple_GET_ITEM(item, 4);
        given = PyTuple_GET_ITEM(item, 5);
        full = given == Py_None ? 0 : PyObject_IsTrue(given);
        if (full < 0)
            return NULL;
        own = full ? Py_NewRef(given) : PyDict_New();
        if (own == NULL)
            return NULL;
        path = PyUnicode_Concat(before, action);
        if (path == NULL || PyList_Append(tags, item) < 0 || PyList_Append(paths, path) < 0
            || PyList_Append(pairs, own) < 0
            || PyList_Append(ends, PyTuple_GET_ITEM(item, 1)) < 0) {
            Py_XDECREF(path);
            Py_DECREF(own);
            return NULL;
        }
        Py_DECREF(path);
        Py_DECREF(own);
    }
    return PyLong_FromSsize_t(k - start);
}

static PyMethodDef cscan_functions[] = {
    {"splice_forms", (PyCFunction)(void (*)(void))splice_forms, METH_FASTCALL,
     "splice_forms(document, insertions, offsets, start, middle, tags, end, first) -> bytes"},
    {"find_post_form", (PyCFunction)(void (*)(void))find_post_form, METH_FASTCALL,
     "find_post_form(document, start) -> (at, seen)"},
    {"plain_actions", (PyCFunction)(void (*)(void))plain_actions, METH_FASTCALL,
     "plain_actions(items, bare_type) -> int"},
    {"take_bare", (PyCFunction)(void (*)(void))take_bare, METH_FASTCALL,
     "take_bare(items, start, before, bare_type, tags, paths, pairs, ends) -> int"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef cscan_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "postback_middleware.html_scan._cscan",
    .m_doc = "The compiled engine of postback_middleware.html_scan.",
    .m_size = -1,
    .m_methods = cscan_functions,
};

/* C1_REPLACEMENTS from the cp1252 codec (attributes._cp1252_table) */
static int init_c1_replacements(void)
{
    int k;
    for (k = 0; k < 32; k++) {
        char byte = (char)(0x80 + k);
        PyObject *text = PyUnicode_Decode(&byte, 1, "cp1252", "strict");
        if (text == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError))
                return -1;
            PyErr_Clear(); /* 0x81, 0x8D, 0x8F, 0x90, 0x9D: the code stays */
            continue;
        }
        C1_REPLACEMENTS[k] = PyUnicode_READ_CHAR(text, 0);
        Py_DECREF(text);
    }
    return 0;
}

PyMODINIT_FUNC PyInit__cscan(void)
{
    PyObject *module;
    init_classes();
    init_at_slots();
    init_plain_action();
    if (init_known() < 0 || init_c1_replacements() < 0)
        return NULL;
    if (NO_ATTRS == NULL) {
        PyObject *empty = PyDict_New();
        if (empty == NULL)
            return NULL;
        NO_ATTRS = PyDictProxy_New(empty);
        Py_DECREF(empty);
        if (NO_ATTRS == NULL)
            return NULL;
    }
    if (PyType_Ready(&ScannerType) < 0)
        return NULL;
    module = PyModule_Create(&cscan_module);
    if (module == NULL)
        return NULL;
    if (PyModule_AddObjectRef(module, "Scanner", (PyObject *)&ScannerType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
