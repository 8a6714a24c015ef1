/* postback-middleware: ASP.NET WebForms-style postbacks and callbacks, with ASP.NET's global
 * names (theForm, __doPostBack, WebForm_DoCallback), and partial postbacks: a postback from
 * inside a [data-update-panel] (or naming panels in data-postback-panel) is sent by fetch and
 * swaps just those panels. Runs deferred. CSP-strict: no eval. */
(function () {
"use strict";
var FP = HTMLFormElement.prototype, EP = Element.prototype, NP = Node.prototype;
var HP = HTMLElement.prototype, each = Array.prototype.forEach;

/* Clobbering: <input name="action"> shadows form.action, and so for every property and method:
 * a form's properties are read through the prototypes' getters, its methods called from them. */
function prop(obj, name) { // obj[name], as the prototypes define it; an own property is skipped
  for (var p = Object.getPrototypeOf(obj); p; p = Object.getPrototypeOf(p)) {
    var d = Object.getOwnPropertyDescriptor(p, name);
    if (d) return d.get ? d.get.call(obj) : d.value;
  }
}
function attr(el, name) { return EP.getAttribute.call(el, name); }
function hasAttr(el, name) { return EP.hasAttribute.call(el, name); }
function closest(el, selector) { return EP.closest.call(el, selector); }
function isElement(x) { return x instanceof Element; }
function field(form, name) { // the form's input of that name: inside it, or (a form opened in
  // a <table>, which the parser leaves empty) one it owns beside it, as it submits them
  var found = EP.querySelector.call(form, 'input[name="' + name + '"]');
  if (found) return found;
  var owned = prop(form, "elements");
  for (var i = 0; i < owned.length; i++) {
    if (owned[i].tagName === "INPUT" && owned[i].name === name) return owned[i];
  }
  return null;
}
function isPostForm(form) {
  return !!(form && field(form, "__EVENTTARGET"));
}
function setField(form, name, value) { // creates the hidden input when missing
  var input = field(form, name);
  if (!input) {
    input = NP.insertBefore.call(form, create("input"), prop(form, "firstChild"));
    input.type = "hidden"; input.name = name;
  }
  input.value = value == null ? "" : value;
}
function setEvent(form, target, argument) {
  setField(form, "__EVENTTARGET", target);
  setField(form, "__EVENTARGUMENT", argument);
}
/* The document too: <img name="forms">, <form name="addEventListener"> shadow its properties and
 * methods (named elements override them, as a form's controls do a form's): user markup that
 * names one must not stop the script, whose submit check is what keeps a streamed page's tokens
 * home. The document is read through the prototypes as well. */
var DP = Document.prototype, ETP = EventTarget.prototype;
function doc(name) { return prop(document, name); }
function on(target, type, listener, capture) {
  ETP.addEventListener.call(target, type, listener, !!capture);
}
function create(tag) { return DP.createElement.call(document, tag); }
function eventOf(form) {
  return ["__EVENTTARGET", "__EVENTARGUMENT"].map(function (name) {
    var input = field(form, name);
    return input ? input.value : "";
  });
}

/* Events a page can observe, or cancel where cancelable (docs/reference/client-script.md, "Client events"): bubbling
 * "postback:NAME" CustomEvents, dispatched through the prototype (<input name="dispatchEvent">
 * shadows form.dispatchEvent). */
function fire(target, name, detail, cancelable) { // false: a listener cancelled it
  return EventTarget.prototype.dispatchEvent.call(target, new CustomEvent("postback:" + name,
    { bubbles: true, cancelable: !!cancelable, detail: detail }));
}
// Just before a postback is sent (event: its target and argument); cancelled, the form keeps
// no event and nothing is sent.
function before(form, event, panels) {
  var detail = { target: event[0], argument: event[1], panels: panels };
  if (fire(form, "before", detail, true)) return true;
  setEvent(form, "", "");
}
function fireError(target, kind, status, message) { // a partial postback or callback failed
  fire(target || document, "error", { kind: kind, status: status, message: message });
}

/* A form left open: tokens older than max_age are refused, so before a postback, partial
 * postback or callback whose tokens are getting old (or that came back refused as expired),
 * they are renewed (POST to the form's action, X-Postback-Renew: the middleware answers, the
 * app is not called), and then what the person typed is sent. */
var script = doc("currentScript");
var MAX_AGE = +(script && attr(script, "data-max-age")) * 1000 || 0; // 0: renewal is off
var AJAX = !!(script && hasAttr(script, "data-aspnet-ajax")); // answering Microsoft's client
var loaded = Date.now(), renewedAt = new WeakMap();
function issuedAt(form) { // the older of the page's load and the view state's own time
  var at = renewedAt.get(form), vs = field(form, "__VIEWSTATE");
  if (at) return at;
  try {
    var b64 = vs.value.split(".")[0].replace(/-/g, "+").replace(/_/g, "/");
    return Math.min(loaded, JSON.parse(atob(b64)).t * 1000);
  } catch (x) { return loaded; }
}
function stale(form) { return MAX_AGE && Date.now() - issuedAt(form) > MAX_AGE * 0.75; }
var renewing = new WeakMap(); // form -> its renewal in flight: what else it sends waits
function renew(form) { // resolves once tried: the form has fresh tokens, or keeps its own
  var vs = field(form, "__VIEWSTATE"), ev = field(form, "__EVENTVALIDATION");
  var url = prop(form, "action"), busy = renewing.get(form);
  if (busy) return busy;
  renewedAt.set(form, Date.now()); // (tried: not again at once, whatever the answer)
  if (!MAX_AGE || !vs || !ev || !ev.value || leavesOrigin(url)) return Promise.resolve();
  var sent = [vs.value, ev.value];
  busy = fetch(url.split("#")[0], {
    method: "POST", credentials: "same-origin",
    headers: { "X-Postback-Renew": "1", "Content-Type": "application/x-www-form-urlencoded" },
    body: "__VIEWSTATE=" + encodeURIComponent(vs.value) +
      "&__EVENTVALIDATION=" + encodeURIComponent(ev.value)
  }).then(function (r) { return r.ok ? r.json() : null; }).then(function (b) {
    if (!b || b.version !== 1) return;
    // (a partial postback answered meanwhile: its fresher tokens stay, these are dropped)
    if (!holds(form, "__VIEWSTATE", sent[0]) || !holds(form, "__EVENTVALIDATION", sent[1])) return;
    setField(form, "__VIEWSTATE", b.fields.__VIEWSTATE);
    setField(form, "__EVENTVALIDATION", b.fields.__EVENTVALIDATION);
    initCallback(form);
    fire(form, "renewed", {});
  }).catch(function () {}).then(function () { renewing.delete(form); });
  renewing.set(form, busy);
  return busy;
}
function holds(form, name, value) { // whether the form's field still has the value it sent
  var input = field(form, name);
  return !!input && input.value === value;
}
function whenFresh(form, go) { // go() now, or after renewing the form's old tokens
  if (form && (stale(form) || renewing.has(form))) renew(form).then(go); else go();
}

/* theForm is the first post form as the middleware counts them: one that goes to this origin by
 * POST. A user's markup may hold a form with an input named __EVENTTARGET too (a GET form, or one
 * posting to another origin: the middleware gives it nothing): it must not become theForm, which
 * the page's own __doPostBack links post and whose __LASTFOCUS and scroll fields are restored on
 * load. (Where every one now sends elsewhere, a streamed page's late <base>, the first is
 * theForm: each submission is checked as it goes.) */
var postForms = Array.prototype.filter.call(doc("forms"), isPostForm);
var theForm = window.theForm = postForms.filter(function (f) { return !sendsAway(f); })[0] ||
  postForms[0];

/* An element posts its own form if that is a postback form. One in no post form (a user's markup
 * outside the page's forms, a GET form's link) raises nothing, as the middleware says of it (it
 * registered no event of it): raised on theForm, a user's <div data-postback="DeleteAccount">
 * covering the page posted an event theForm offered elsewhere, on any click. The page's own
 * scripts still post theForm (__doPostBack). */
function formOf(el) {
  var form = prop(el, "form") || closest(el, "form");
  return isPostForm(form) ? form : null;
}

/* ---- Postbacks ---- */

var submitting = new WeakSet(); // forms being submitted: a double click posts once
// Released after a while, for answers that do not replace the page (a download, a 204).
var GUARD_MS = 4000;
function markSubmitting(form, submitter) { // (a form posting to another window leaves us here)
  var target = submission(form, submitter, "Target");
  if (target && target !== "_self") return;
  submitting.add(form);
  setTimeout(function () { submitting.delete(form); }, GUARD_MS);
}

// MaintainScrollPositionOnPostback: save the scroll position and the focused element.
function saveScroll(form) {
  var x = field(form, "__SCROLLPOSITIONX"), y = field(form, "__SCROLLPOSITIONY");
  var last = field(form, "__LASTFOCUS"), active = doc("activeElement");
  if (x) x.value = Math.round(scrollX);
  if (y) y.value = Math.round(scrollY);
  if (last) last.value = active && active !== doc("body") && prop(active, "id") || "";
}

/* Tokens go only to this origin, by POST: each submission is checked in the final DOM (a streamed
 * page may bring a <base> or a formaction/formmethod button after they were sent). */
function leavesOrigin(url) {
  try { return new URL(url).origin !== location.origin; } catch (x) { return true; }
}
function setEnabled(tokens, on) { tokens.forEach(function (el) { el.disabled = !on; }); }
// The submitter's formaction/formmethod/formtarget if it has that attribute, else the form's.
function submission(form, submitter, Name) {
  var name = Name.toLowerCase();
  return submitter && hasAttr(submitter, "form" + name) ? prop(submitter, "form" + Name)
    : prop(form, name);
}
function withhold(form, submitter) { // a disabled control is not sent
  if (!leavesOrigin(submission(form, submitter, "Action")) &&
      /^(post|dialog)$/.test(submission(form, submitter, "Method"))) return;
  var tokens = [].filter.call(prop(form, "elements"), function (el) {
    return /^__(VIEWSTATE|EVENTVALIDATION)$/.test(el.name) && !el.disabled;
  });
  if (tokens.length) console.warn("postback: tokens withheld from a form sent away");
  setEnabled(tokens); setTimeout(setEnabled, 0, tokens, 1); // (formtarget=_blank: page stays)
}
function send(form) {
  markSubmitting(form); withhold(form, null);
  FP.submit.call(form); // <input name="submit"> would shadow form.submit
}

function doPostBack(target, argument, form, panels) {
  form = form || window.theForm;
  if (!form || submitting.has(form) || renewing.has(form)) return;
  // As in ASP.NET: onsubmit runs first, and returning false cancels. (The property, read
  // through its getter: <input name="onsubmit"> does not shadow it.)
  var onsubmit = prop(form, "onsubmit"), frame = prop(form, "target");
  if (typeof onsubmit === "function" && onsubmit.call(form) === false) return;
  setEvent(form, target, argument);
  saveScroll(form);
  markSubmitting(form); // (a double click while the tokens are renewed posts once)
  whenFresh(form, function () {
    submitting.delete(form);
    setEvent(form, target, argument);
    if (panels && !(frame && frame !== "_self") && sendsUtf8(form)) {
      return partial(form, panels);
    }
    if (before(form, eventOf(form), [])) send(form);
  });
}
// With aspnet_ajax, a page that loaded Microsoft's ASP.NET AJAX client keeps its __doPostBack:
// that client's PageRequestManager wrapped it (to send postbacks from UpdatePanels as async
// ones, which the middleware answers then; without the option they post the whole page).
if (!(AJAX && window.Sys && window.Sys.WebForms && typeof window.__doPostBack === "function")) {
  window.__doPostBack = function (target, argument) {
    doPostBack(target, argument, window.theForm);
  };
}

function activate(e, el) {
  var form = formOf(el), target = attr(el, "data-postback");
  var argument = attr(el, "data-postback-argument") || "";
  if (!form) return; // (a link follows its href, as it would without the script)
  if (form && form === prop(el, "form") && /^(submit|image)$/.test(prop(el, "type"))) {
    // A submit button: the native submission goes on and sends the button's name=value.
    if (submitting.has(form)) return e.preventDefault();
    setEvent(form, target, argument);
    // The form data is built during this click. Clear the fields afterwards, in case the
    // submission was cancelled or invalid.
    setTimeout(function () { setEvent(form, "", ""); }, 0);
  } else {
    e.preventDefault(); // e.g. a link must not follow its href
    doPostBack(target, argument, form, panelsOf(el));
  }
}

on(document, "click", function (e) {
  var el = isElement(e.target) && closest(e.target, "[data-postback]");
  if (el && !e.defaultPrevented) activate(e, el);
});

// Enter/Space on e.g. <div tabindex="0" data-postback> acts like a click.
on(document, "keydown", function (e) {
  var el = e.target, tag = isElement(el) && prop(el, "tagName");
  if ((e.key === "Enter" || e.key === " ") && tag && hasAttr(el, "data-postback") &&
      !(e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || e.repeat) &&
      !/^(BUTTON|INPUT|SELECT|TEXTAREA|SUMMARY)$/.test(tag) && // these activate natively
      !(tag === "A" && hasAttr(el, "href"))) activate(e, el);
});

// data-autopostback: a change posts the form with __EVENTTARGET=<name>.
on(document, "change", function (e) {
  var el = e.target;
  if (isElement(el) && /^(INPUT|SELECT|TEXTAREA)$/.test(prop(el, "tagName")) &&
      prop(el, "name") && hasAttr(el, "data-autopostback") && formOf(el)) {
    doPostBack(prop(el, "name"), "", formOf(el), panelsOf(el));
  }
});

// Native submissions: capture phase, before the page's handlers... The double-post guard is
// for postbacks the script raises (a data-postback submit button): any other native submission
// is the app's own business (a second click of an export button must post again).
function raised(submitter) { return !!submitter && hasAttr(submitter, "data-postback"); }
on(document, "submit", function (e) {
  var form = e.target, submitter = e.submitter;
  if (!isPostForm(form)) return;
  if (raised(submitter) && submitting.has(form)) return e.preventDefault();
  if (stale(form) || renewing.has(form)) { // old tokens: renewed first, then submitted again
    e.preventDefault();
    e.stopImmediatePropagation(); // the page's own handlers see the submission made again
    if (renewing.has(form)) return; // (a second click meanwhile: one submission)
    var event = eventOf(form), own = submitter && prop(submitter, "form") === form;
    return renew(form).then(function () {
      setTimeout(resubmit, 0, form, own ? submitter : null, event); // (outside this dispatch)
    });
  }
  saveScroll(form); withhold(form, submitter);
}, true);
function resubmit(form, submitter, event) {
  setEvent(form, event[0], event[1]);
  if (FP.requestSubmit) FP.requestSubmit.call(form, submitter);
  else { // (no requestSubmit: the submitter's name=value as a field, and submit())
    if (submitter && submitter.name) setField(form, submitter.name, submitter.value);
    FP.submit.call(form);
  }
  setTimeout(setEvent, 0, form, "", "");
}
// ...and on window after them: not cancelled means submitting (unless postback:before is).
on(window, "submit", function (e) {
  var form = e.target;
  if (!isPostForm(form) || e.defaultPrevented) return;
  if (!before(form, eventOf(form), [])) return e.preventDefault();
  if (raised(e.submitter)) markSubmitting(form, e.submitter);
});

/* htmx (https://htmx.org) builds its own requests from a form's fields: the form an element
 * is in (closest("form"): after a misnested </form>, <div></form>, an element the markup shows
 * outside the form is still in it) or one hx-include names. As a native submission, such a
 * request carries the reserved fields only as a POST to this origin, in its body: one to
 * another origin, by another verb, or putting them in its URL (htmx's useUrlParams: a GET, a
 * DELETE) goes without them. No other origin may see the tokens, and the middleware refuses
 * reserved fields in a URL and in any body but a POST's: the request would fail. (The
 * middleware withholds the tokens of the forms whose htmx requests it reads as leaving: this
 * covers what its reading cannot see.) On window, after the page's own listeners: the request
 * they made is the one judged. */
on(window, "htmx:configRequest", function (e) {
  var d = e.detail || {}, verb = String(d.verb || "").toLowerCase(), away;
  try { away = leavesOrigin(new URL(d.path, doc("baseURI")).href); } catch (x) { away = true; }
  if (!away && verb === "post" && !d.useUrlParams) return;
  var left = RESERVED.filter(function (name) {
    var params = d.parameters, had = !!params && params[name] !== undefined;
    if (had) delete params[name]; // (htmx 2: deletes it from the FormData sent)
    return had;
  });
  if (left.length) console.warn("postback: " + left.join(", ") + " left out of an htmx " +
    verb.toUpperCase() + " request " + (away ? "to another origin" : "(not a POST body)"));
});

// Back/forward cache: the page is live again.
on(window, "pageshow", function () { submitting = new WeakSet(); });

// On load (as ASP.NET), restore what the last postback saved.
function restore() { // (never from a form that sends elsewhere: not the middleware's fields)
  if (!theForm || sendsAway(theForm)) return;
  var x = field(theForm, "__SCROLLPOSITIONX"), y = field(theForm, "__SCROLLPOSITIONY");
  var last = field(theForm, "__LASTFOCUS"), scroll = !!(x && y && x.value && y.value);
  var el = last && last.value && byId(last.value);
  if (el) HP.focus.call(el, { preventScroll: scroll });
  if (scroll) scrollTo(parseInt(x.value, 10) || 0, parseInt(y.value, 10) || 0);
}
if (doc("readyState") === "complete") restore();
else on(window, "load", restore);

/* ---- Partial postbacks (update panels) ---- */

function byId(id) { return Document.prototype.getElementById.call(document, id); }
function reload() { location.assign(location.href.split("#")[0]); } // a GET, never a re-post

// The panels a postback from el updates (data-postback-panel, else the panel it is in), or
// null: a full postback.
function panelsOf(el) {
  var ids = attr(el, "data-postback-panel"), p = closest(el, "[data-update-panel]");
  ids = ids ? ids.split(/\s+/).filter(Boolean) : p && prop(p, "id") ? [prop(p, "id")] : [];
  return window.fetch && ids.length && ids.every(function (id) {
    return (p = byId(id)) && hasAttr(p, "data-update-panel");
  }) ? ids : null;
}

// fetch sends UTF-8: a page or form in another charset posts the ordinary way (its bytes).
function sendsUtf8(form) {
  var charset = (attr(form, "accept-charset") || "").trim().split(/[\s,]+/)[0];
  return /^utf-?8$/i.test(charset || doc("characterSet"));
}

// As the browser encodes a urlencoded form: newlines as CRLF, a file by its name.
function crlf(text) { return text.replace(/\r\n|\r|\n/g, "\r\n"); }
function urlencoded(data) {
  var query = new URLSearchParams();
  data.forEach(function (value, name) {
    query.append(crlf(name), typeof value === "string" ? crlf(value) : value.name);
  });
  return query;
}

var RESERVED = ["__EVENTTARGET", "__EVENTARGUMENT", "__VIEWSTATE", "__EVENTVALIDATION",
  "__LASTFOCUS", "__SCROLLPOSITIONX", "__SCROLLPOSITIONY", "__VIEWSTATEGENERATOR"];
var seq = 0, latest = {}, pending = new WeakMap(); // panel id -> newest; form -> body in flight
var AWAY = {}; // thrown: the form posts to another origin

function partial(form, ids, retried) {
  var data = new FormData(form), query = urlencoded(data), key = String(query), n = ++seq;
  var event = eventOf(form), status = 0, url;
  setEvent(form, "", "");
  if (pending.get(form) === key) return; // the same postback again: a double click
  if (!retried && !before(form, event, ids.slice())) return;
  pending.set(form, key);
  // Each panel's children, as the server may name them (before aria-busy marks a nested panel).
  var have = ids.map(function (id) { return [].map.call(prop(byId(id), "childNodes"), markup); });
  ids.forEach(function (id) {
    latest[id] = n;
    EP.setAttribute.call(byId(id), "aria-busy", "true");
  });
  function done() { // false if a newer partial postback from one of the panels has started
    var mine = ids.filter(function (id) { return latest[id] === n; });
    mine.forEach(function (id) { if (byId(id)) EP.removeAttribute.call(byId(id), "aria-busy"); });
    if (pending.get(form) === key) pending.delete(form);
    return mine.length === ids.length;
  }
  digests(have).then(function (groups) {
    var headers = { "X-Postback-Panels": ids.join(" ") };
    url = prop(form, "action"); // (read once: the answer is replayed to this very URL)
    if (groups) headers["X-Postback-Children"] = groups;
    if (leavesOrigin(url)) throw AWAY; // posted the ordinary way (below)
    return fetch(url, {
      method: "POST", credentials: "same-origin", headers: headers,
      body: /multipart/i.test(prop(form, "enctype")) ? data : query
    });
  }).then(function (r) {
    var kind = r.headers.get("X-Postback-Partial");
    status = r.status;
    if (kind === "refused") return r.json().then(function (b) { // the page stays as it is
      if (!done()) return;
      if (b.refused !== "expired" || retried) return refused(form, b, r.status);
      renew(form).then(function () { setEvent(form, event[0], event[1]); partial(form, ids, 1); });
    });
    if (/^(panels|navigate|replay)$/.test(kind)) return r.json().then(function (b) {
      if (!done()) return; // a stale answer
      if (b.version !== 1) throw b;
      if (kind === "panels") apply(b, ids, have);
      else if (kind === "navigate") { // as a browser follows a redirect: http(s) only
        if (/^https?:/i.test(b.navigate)) location.assign(b.navigate); else reload();
      } else { // the postback was processed: its answer comes back by a real navigation
        markSubmitting(form);
        // To the URL the postback went to, checked then: not the form's action read again,
        // which a <base> the page gained meanwhile (a user's comment added while a report
        // was made) sends to another origin, with the answer's body.
        replay(url, b.replay, b.body);
      }
    });
    // The postback was processed: show its answer, as a full postback would.
    return r.blob().then(function (b) {
      if (!done()) return;
      if (!r.ok) fireError(form, "partial", r.status, "HTTP " + r.status);
      if (kind === "download") save(b, r.headers.get("X-Postback-Filename"));
      else show(r, b);
    });
  }, function (x) { // nothing reached the server: post the ordinary way
    if (!done()) return;
    if (x !== AWAY) fireError(form, "partial", 0, "network error");
    setEvent(form, event[0], event[1]);
    send(form);
  }).catch(function () {
    fireError(form, "partial", status, "unreadable reply");
    reload();
  });
}

// A refused partial postback: the page keeps what was typed; after postback:error, the page's
// own handler of "postback:refused" (cancelable; detail: reason, message) may show it, else an
// alert.
function refused(form, b, status) {
  fireError(form, "partial", status, b.message);
  if (fire(form, "refused", { reason: b.refused, message: b.message }, true)) alert(b.message);
}

/* An answer that is not panels ends as a full postback would. Plain HTML ("fallback") is written
 * here; anything else (a file, SVG, PDF, a page with its own CSP) is "replay": the answer, signed
 * for a minute, that we post (text/plain) to the postback's URL; the middleware answers with the
 * stored response (the app is not called) and the browser handles it natively. Too large to
 * replay: "download", saved as a file. Never a blob: page. */
var REPLAY_FIELD = "__POSTBACKREPLAY";
function replay(action, token, body) {
  var f = create("form"); // no named children yet: its properties are its own
  f.method = "post"; f.enctype = "text/plain"; f.acceptCharset = "utf-8"; f.action = action;
  f.hidden = true;
  [[REPLAY_FIELD, token], ["body", body]].forEach(function (pair) { // the token first
    var input = NP.appendChild.call(f, create("input"));
    input.type = "hidden"; input.name = pair[0]; input.value = pair[1];
  });
  NP.appendChild.call(doc("body") || doc("documentElement"), f);
  FP.submit.call(f);
  f.remove(); // submitted already; a download or a 204 leaves this page in place
}
function save(blob, name) { // an octet-stream blob with a download name: never rendered
  var a = create("a");
  a.href = URL.createObjectURL(new Blob([blob], { type: "application/octet-stream" }));
  a.download = decodeURIComponent(name || "download"); a.hidden = true;
  NP.appendChild.call(doc("body") || doc("documentElement"), a);
  a.click(); a.remove();
  setTimeout(function () { URL.revokeObjectURL(a.href); }, 60000);
}
/* The page's bytes are decoded as a browser decodes them (WHATWG): its byte order mark, else the
 * header's charset, else (HTML) the <meta> charset of its first 1024 bytes, else UTF-8. Read
 * otherwise, text the app escaped becomes markup: a UTF-16 page (a BOM, no charset in the
 * header) or an ISO-2022-JP one (by its <meta>) decoded as UTF-8 ran a user's comment as script
 * in this origin, where the full postback showed it as text. */
function encodingOf(type, bytes, html) {
  var b = new Uint8Array(bytes, 0, Math.min(bytes.byteLength, 1024));
  if (b[0] === 0xEF && b[1] === 0xBB && b[2] === 0xBF) return "utf-8";
  if (b[0] === 0xFE && b[1] === 0xFF) return "utf-16be";
  if (b[0] === 0xFF && b[1] === 0xFE) return "utf-16le";
  var label = (/;\s*charset\s*=\s*["']?([\w:.-]+)/i.exec(type) || [])[1];
  if (label || !html) return label || "utf-8";
  label = metaCharset(String.fromCharCode.apply(null, b)) || "utf-8";
  return /^(utf-?16|ucs-?2|unicode)/i.test(label) ? "utf-8" : label; // (as browsers do)
}
// The prescan's answer, near enough: comments skipped, and only a <meta>'s own charset
// attribute, or http-equiv="content-type" with a content naming one (not the word "charset=" in
// any attribute: a description a user wrote).
var META_TAG = /<meta[\t\n\f\r \/][^>]*>?/gi, ATTRIBUTE = new RegExp(
  "([^\\t\\n\\f\\r />\"'=]+)(?:[\\t\\n\\f\\r ]*=[\\t\\n\\f\\r ]*" +
  "(\"[^\"]*\"?|'[^']*'?|[^\\t\\n\\f\\r >]*))?", "g");
function metaCharset(head) {
  var tags = head.replace(/<!--[\s\S]*?(-->|$)/g, "").match(META_TAG) || [];
  for (var i = 0; i < tags.length; i++) {
    var attrs = {}, m, rest = tags[i].slice(6);
    ATTRIBUTE.lastIndex = 0;
    while ((m = ATTRIBUTE.exec(rest))) {
      var name = m[1].toLowerCase(), value = (m[2] || "").replace(/^["']|["']$/g, "");
      if (!(name in attrs)) attrs[name] = value;
    }
    if (attrs.charset) return attrs.charset.trim();
    if ((attrs["http-equiv"] || "").toLowerCase() === "content-type") {
      m = /charset[\t\n\f\r ]*=[\t\n\f\r ]*["']?([^\t\n\f\r ;"']+)/i.exec(attrs.content || "");
      if (m) return m[1];
    }
  }
}
function show(r, blob) { // plain HTML is written here; text shown as text; else a reload
  var type = r.headers.get("Content-Type") || "", mime = type.split(";")[0].trim().toLowerCase();
  var attached = /^\s*attachment/i.test(r.headers.get("Content-Disposition") || "");
  var policy = r.headers.get("Content-Security-Policy") ||
    r.headers.get("Content-Security-Policy-Report-Only");
  var html = mime === "text/html" && !policy, text = mime === "text/plain";
  if (attached || !(html || text) || r.status === 204 || r.status === 205) return reload();
  return blob.arrayBuffer().then(function (bytes) {
    var page = new TextDecoder(encodingOf(type, bytes, html)).decode(bytes);
    if (text) page = "<!DOCTYPE html><pre>" + page.replace(/&/g, "&amp;").replace(/</g, "&lt;") +
      "</pre>"; // e.g. a refusal: as text, nothing in it runs
    DP.open.call(document);
    DP.write.call(document, page);
    DP.close.call(document);
  });
}

// Only what changed travels: the server is told what each panel holds (a digest of each child's
// markup) and answers with pieces, an index standing for the markup of a child we have.
function markup(node) { // as innerHTML writes a child (in a panel that is not e.g. a <script>)
  var type = prop(node, "nodeType"); // node may be a form: read through the prototypes
  if (type === 1) return prop(node, "outerHTML");
  if (type === 8) return "<!--" + node.data + "-->";
  return type === 3 ? node.data.replace(/&/g, "&amp;").replace(/\u00a0/g, "&nbsp;")
    .replace(/</g, "&lt;").replace(/>/g, "&gt;") : "";
}
// Servers refuse header lines over 8 KB: a panel past this budget is sent for whole ("-").
var CHILDREN_BUDGET = 6000, DIGEST_CHARS = 23;
function digests(have) { // the X-Postback-Children header, or null where digests can't be made
  var subtle = window.crypto && crypto.subtle, encoder = window.TextEncoder && new TextEncoder();
  if (!subtle || !encoder) return Promise.resolve(null); // e.g. on http:// but not localhost
  var budget = CHILDREN_BUDGET;
  return Promise.all(have.map(function (children) {
    var size = children.length * DIGEST_CHARS;
    if (!size || size > budget) return "-";
    budget -= size;
    return Promise.all(children.map(function (text) {
      return subtle.digest("SHA-256", encoder.encode(text)).then(function (sha) {
        var bytes = String.fromCharCode.apply(null, new Uint8Array(sha, 0, 16));
        return btoa(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
      });
    })).then(function (list) { return list.join(","); });
  })).then(function (groups) { return groups.join(" "); }, function () { return null; });
}

var INNER_HTML = Object.getOwnPropertyDescriptor(EP, "innerHTML").set;
function sendsAway(form) { // to another origin or not by POST (read as withhold() reads them)
  return leavesOrigin(prop(form, "action")) || prop(form, "method") !== "post";
}
function sameId(panel, id) {
  return EP.querySelectorAll.call(panel, '[id="' + CSS.escape(id) + '"]');
}
function place(panel, el) { // where el is in the panel, to be found again once it is swapped: its
  // id and which of the panel's elements of that id it is (a user's markup may repeat the app's)
  var id = prop(el, "id");
  return id ? { panel: panel, id: id, nth: [].indexOf.call(sameId(panel, id), el) } : null;
}
function apply(answer, ids, have) { // swap the panels, refresh every post form's fields
  var active = doc("activeElement"), refocus = null, x = scrollX, y = scrollY, swapped = [];
  if (answer.version !== 1) throw answer;
  Object.keys(answer.panels).forEach(function (id) {
    var p = byId(id), content = answer.panels[id], mine = have[ids.indexOf(id)];
    if (Array.isArray(content)) content = content.map(function (piece) {
      if (typeof piece === "string") return piece;
      if (!mine || mine[piece] == null) throw answer; // not a child we named
      return mine[piece];
    }).join("");
    if (p && fire(p, "beforeswap", { panel: id }, true)) { // cancelled: the panel stays
      if (!refocus && NP.contains.call(p, active)) refocus = place(p, active);
      INNER_HTML.call(p, content); // p may be a form: p.innerHTML could be an <input>
      swapped.push(id);
    }
  });
  // Written by position (a form's fields are those it owns: see field): a count that matches may
  // still be shifted (a panel's markup may hold an __EVENTTARGET). Every form counted is one the
  // middleware gave fields, a same-origin POST form: else nothing is written, the page reloads.
  var forms = Array.prototype.filter.call(doc("forms"), isPostForm);
  if (forms.length !== answer.forms.length || forms.some(sendsAway)) return reload();
  forms.forEach(function (form, i) {
    var fresh = answer.forms[i];
    RESERVED.forEach(function (name) { // a field the answer leaves out is empty
      if (fresh[name] != null || field(form, name)) setField(form, name, fresh[name]);
    });
    if (fresh.__VIEWSTATE) renewedAt.set(form, Date.now()); // (fresh: no renewal for a while)
    initCallback(form);
  });
  if (!(window.theForm && prop(window.theForm, "isConnected"))) window.theForm = forms[0];
  var again = refocus && sameId(refocus.panel, refocus.id)[refocus.nth];
  if (again) HP.focus.call(again, { preventScroll: true });
  scrollTo(x, y);
  swapped.forEach(function (id) { // (the forms' fields fresh: a listener may post again)
    if (byId(id)) fire(byId(id), "afterswap", { panel: id });
  });
}

/* ---- Callbacks, on the wire exactly like ASP.NET's WebForms.js ---- */

var TEXT = /^(text|password|hidden|search|tel|url|email|number|range|color|datetime|date|month|week|time|datetime-local)$/i;
var postData = new WeakMap(); // form -> fields at load time (as WebForm_InitCallback)

function initCallback(form) {
  var data = "";
  function add(name, value) {
    data += encodeURIComponent(name) + "=" + encodeURIComponent(value) + "&";
  }
  each.call(prop(form, "elements"), function (el) {
    var tag = el.tagName;
    if (!el.name || el.name === "__EVENTVALIDATION") return; // EV is sent fresh
    if (tag === "TEXTAREA" || (tag === "INPUT" && (TEXT.test(el.type) ||
        (/^(checkbox|radio)$/.test(el.type) && el.checked)))) add(el.name, el.value);
    if (tag === "SELECT") each.call(el.options, function (o) {
      if (o.selected) add(el.name, o.value);
    });
  });
  postData.set(form, data);
  return data;
}
each.call(doc("forms"), function (f) { if (isPostForm(f)) initCallback(f); });

// As WebForm_ExecuteCallback: "s<result>", "e<error>" or "<N>|<N chars of new EV><result>";
// but an HTTP error, network failure or unreadable reply is an error, not silence.
function execute(form, xhr, cb, sent) { // (sent: the __EVENTVALIDATION the call sent)
  var text = xhr.responseText, kind = text.charAt(0), bar = text.indexOf("|");
  var n = parseInt(text.substring(0, bar), 10), error = null;
  if (kind === "e") error = text.substring(1);
  else if (!xhr.status) error = "network error";
  else if (xhr.status < 200 || xhr.status > 299) error = "HTTP " + xhr.status;
  else if (kind !== "s" && isNaN(n)) error = "unreadable reply";
  if (error !== null) {
    // (single_use_callbacks: the spent token's successor, which an "e" reply cannot carry)
    var next = xhr.getResponseHeader("X-Postback-Validation");
    if (next && form && holds(form, "__EVENTVALIDATION", sent)) {
      setField(form, "__EVENTVALIDATION", next);
    }
    return failed(cb, xhr.status, error, kind === "e");
  }
  if (kind === "s") text = text.substring(1);
  else {
    // Written where the form still holds the token sent: a partial postback or a renewal that
    // answered meanwhile gave it fresher ones, of another form id, which this must not undo.
    if (n && form && holds(form, "__EVENTVALIDATION", sent)) {
      setField(form, "__EVENTVALIDATION", text.substr(bar + 1, n));
    }
    text = text.substring(bar + 1 + n);
  }
  after(cb, "result", text);
  if (typeof cb.success === "function") cb.success(text, cb.context);
}
// Callback events go to theForm (the document without one). A callback not cancelled ends with
// one postback:aftercallback, before its function runs (a superseded one's never runs).
function after(cb, outcome, value) {
  var detail = { name: cb.name, argument: cb.argument };
  detail[outcome] = value;
  fire(window.theForm || document, "aftercallback", detail);
}
// Failed: postback:error (unless the callback's handler answered the error: a 2xx "e" reply),
// postback:aftercallback, then the errorCallback, with the server's message ("e") or ours.
function failed(cb, status, error, framed) {
  if (!framed || status < 200 || status > 299) {
    fireError(window.theForm, "callback", status, error);
  }
  if (!framed) error = "Callback failed: " + error;
  after(cb, "error", error);
  if (typeof cb.error === "function") cb.error(error, cb.context);
}

var pendingSync = null; // the latest non-async call: an older one is never delivered
var promised = new WeakSet(); // Postback.callback's reject functions: told of a cancel
var CANCELED = "Callback canceled by a postback:beforecallback listener";

window.WebForm_DoCallback = function (eventTarget, eventArgument, eventCallback, context,
    errorCallback, useAsync) {
  var cb = { success: eventCallback, context: context, error: errorCallback, sync: !useAsync,
    name: String(eventTarget), argument: String(eventArgument) };
  if (!fire(window.theForm || document, "beforecallback",
      { name: cb.name, argument: cb.argument }, true)) {
    if (promised.has(errorCallback)) errorCallback(CANCELED);
    return;
  }
  if (cb.sync) pendingSync = cb; // a newer non-async call supersedes it, renewal or not
  whenFresh(window.theForm, function () { call(eventTarget, eventArgument, cb); });
};
function call(eventTarget, eventArgument, cb, retried) { // its form's tokens fresh
  // Superseded while the tokens were renewed:
  if (cb.sync && pendingSync !== cb) return after(cb, "error", "Callback superseded");
  var form = window.theForm, ev = form && field(form, "__EVENTVALIDATION");
  var sent = ev ? ev.value : null; // (read now: the answer's token replaces this one only)
  var data = (form ? postData.get(form) || initCallback(form) : "") +
    "__CALLBACKID=" + encodeURIComponent(eventTarget) +
    "&__CALLBACKPARAM=" + encodeURIComponent(eventArgument) +
    (ev ? "&__EVENTVALIDATION=" + encodeURIComponent(sent) : "");
  var xhr = new XMLHttpRequest(), url = form ? prop(form, "action") : location.href;
  if (leavesOrigin(url)) return failed(cb, 0, "another origin");
  xhr.open("POST", url.split("#")[0]);
  xhr.setRequestHeader("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
  xhr.onloadend = function () { // superseded by a newer non-async call: not delivered
    if (cb.sync && pendingSync !== cb) return after(cb, "error", "Callback superseded");
    if (form && !retried && xhr.getResponseHeader("X-Postback-Refused") === "expired") {
      return renew(form).then(function () { call(eventTarget, eventArgument, cb, 1); });
    }
    if (cb.sync) pendingSync = null;
    execute(form, xhr, cb, sent);
  };
  xhr.send(data);
}

window.Postback = {
  // Resolves with the result, rejects with the error text (CANCELED when a listener cancelled
  // postback:beforecallback). Async: never superseded.
  callback: function (target, argument) {
    return new Promise(function (resolve, reject) {
      promised.add(reject);
      window.WebForm_DoCallback(target, argument == null ? "" : argument,
        resolve, null, reject, true);
    });
  },
  doPostBack: doPostBack,
  // Capture theForm's fields again for callbacks (webforms.js's WebForm_InitCallback).
  initCallback: function () { if (window.theForm) initCallback(window.theForm); }
};
})();
