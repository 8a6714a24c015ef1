/* postback-middleware: the WebForms.js functions ASP.NET's controls and startup scripts call,
 * with WebForms.js's behaviour. Served after postback.js, and alone as WebResource.axd (see
 * aspnet/resources.py), which a page runs while it is parsed: so this only defines (the page is
 * left as it is), keeps a name already defined (by the page, its own WebForms.js, or a first
 * copy of this), and never defines the core's __doPostBack or WebForm_DoCallback. */
(function () {
"use strict";
var EP = Element.prototype, HP = HTMLElement.prototype;
function define(name, fn) { if (typeof window[name] !== "function") window[name] = fn; }
function byId(id) { return Document.prototype.getElementById.call(document, id); }
function doc(name) { // document[name] through the prototypes: <img name="forms"> shadows it
  for (var p = Object.getPrototypeOf(document); p; p = Object.getPrototypeOf(p)) {
    var d = Object.getOwnPropertyDescriptor(p, name);
    if (d) return d.get ? d.get.call(document) : d.value;
  }
}
function pageForm() { return window.theForm || doc("forms")[0] || null; }
function field(f, name) { return f && EP.querySelector.call(f, 'input[name="' + name + '"]'); }
function is(el, selector) { return el instanceof Element && EP.matches.call(el, selector); }
function setAction(f, url) { // through the prototype: <input name="action"> shadows form.action
  Object.getOwnPropertyDescriptor(HTMLFormElement.prototype, "action").set.call(f, url);
}
function sameOrigin(url) { // the absolute URL, or null when it leads to another origin
  try { url = new URL(url, doc("baseURI")); } catch (x) { return null; }
  return url.origin === location.origin ? url.href : null;
}
// Scripts of WebForms.js's time test these (WebUIValidation.js, MicrosoftAjaxWebForms.js).
if (!("__nonMSDOMBrowser" in window)) window.__nonMSDOMBrowser = true;
if (!("__pendingCallbacks" in window)) window.__pendingCallbacks = [];

/* ---- Postbacks with options (Button, LinkButton, PostBackUrl, CausesValidation) ---- */

define("WebForm_PostBackOptions", function (eventTarget, eventArgument, validation,
    validationGroup, actionUrl, trackFocus, clientSubmit) {
  this.eventTarget = eventTarget; this.eventArgument = eventArgument;
  this.validation = validation; this.validationGroup = validationGroup;
  this.actionUrl = actionUrl; this.trackFocus = trackFocus; this.clientSubmit = clientSubmit;
});

/* As WebForms.js: a failed Page_ClientValidate skips actionUrl and trackFocus, and clientSubmit
 * still calls __doPostBack, whose onsubmit (WebUIValidation's Page_BlockSubmit) cancels it and
 * so unblocks the next postback. Unlike it, an actionUrl on another origin posts nothing, not
 * even the button's own submission (the event being handled is cancelled). */
define("WebForm_DoPostBackWithOptions", function (options) {
  var f = pageForm(), valid = true, e = window.event;
  var url = options.actionUrl ? sameOrigin(options.actionUrl) : "";
  if (url === null) {
    console.warn("postback: an actionUrl on another origin is refused: " + options.actionUrl);
    if (e && e.cancelable) e.preventDefault();
    return;
  }
  if (options.validation && typeof window.Page_ClientValidate === "function") {
    valid = window.Page_ClientValidate(options.validationGroup);
  }
  if (valid && url && f) setAction(f, url);
  var last = valid && options.trackFocus && field(f, "__LASTFOCUS"), a = doc("activeElement");
  if (last && a) { // the focused element's id, else its name (the server focuses it again)
    var id = EP.getAttribute.call(a, "id");
    if (id) last.value = id; else if (typeof a.name === "string") last.value = a.name;
  }
  if (options.clientSubmit && typeof window.__doPostBack === "function") {
    window.__doPostBack(options.eventTarget, options.eventArgument);
  }
});

/* The core captures theForm's fields for callbacks when it loads (after ASP.NET's startup
 * call, which is a no-op); a later call (MicrosoftAjaxWebForms's) captures them again. */
define("WebForm_InitCallback", function () {
  var core = window.Postback;
  if (core && typeof core.initCallback === "function") core.initCallback();
});

/* ---- Keyboard: Panel/Form DefaultButton, AutoPostBack TextBox ---- */

// Enter in a panel clicks its default button, unless a button, link or textarea has the key;
// false (returned by onkeypress) cancels the Enter's own submission.
define("WebForm_FireDefaultButton", function (event, target) {
  var button = byId(target);
  if (event.keyCode !== 13 || !(button instanceof HTMLElement) || is(event.target,
      "textarea, button, a[href], input:is([type=submit i], [type=button i], [type=image i], " +
      "[type=reset i])")) return true;
  HP.click.call(button);
  event.stopPropagation();
  return false;
});
// Enter in a single-line AutoPostBack TextBox raises its change (onchange, data-autopostback).
define("WebForm_TextBoxKeyHandler", function (event) {
  var el = event.target;
  if (event.keyCode !== 13 || !(el instanceof Element) || is(el, "textarea")) return true;
  el.dispatchEvent(new Event("change", { bubbles: true }));
  event.stopPropagation();
  return false;
});

/* ---- Focus (Focus.js: Page.SetFocus, DefaultFocus, a validator's invalid control) ---- */

var FOCUSABLE = "input, textarea, select, button, a";
function canFocus(el) { // enabled, not hidden, shown
  return is(el, FOCUSABLE) && !is(el, ":disabled, input[type=hidden i]") &&
    EP.getClientRects.call(el).length > 0 && getComputedStyle(el).visibility !== "hidden";
}
define("WebForm_CanFocus", canFocus);
define("WebForm_FindFirstFocusableChild", function (el) {
  return el ? [].filter.call(EP.querySelectorAll.call(el, FOCUSABLE), canFocus)[0] || null : null;
});
// The element, or its first focusable descendant (a Panel, a composite control).
define("WebForm_AutoFocus", function (id) {
  var target = byId(id);
  var el = target && !canFocus(target) ? window.WebForm_FindFirstFocusableChild(target) : target;
  if (el) try { HP.focus.call(el); } catch (x) { /* as Focus.js: focus is best effort */ }
});
define("WebForm_GetElementById", byId);

/* ---- MaintainScrollPositionOnPostback: ASP.NET's startup script assigns these to
 * theForm.submit, theForm.onsubmit and window.onload, keeping the old ones on theForm ---- */

function formOf(self) { return self instanceof HTMLFormElement ? self : pageForm(); }
function saveScroll(f) { // whole pixels: the server refuses anything but an integer
  var x = field(f, "__SCROLLPOSITIONX"), y = field(f, "__SCROLLPOSITIONY");
  if (x) x.value = Math.round(scrollX);
  if (y) y.value = Math.round(scrollY);
}
function chain(f, name, self, args) { // the handler it replaced, if any, with its answer
  var old = f && f[name];
  return typeof old === "function" ? old.apply(self, args) : true;
}
define("WebForm_SaveScrollPositionSubmit", function () {
  var f = formOf(this);
  saveScroll(f);
  return chain(f, "oldSubmit", f, arguments);
});
define("WebForm_SaveScrollPositionOnSubmit", function () {
  var f = formOf(this);
  saveScroll(f);
  return chain(f, "oldOnSubmit", f, arguments);
});
define("WebForm_RestoreScrollPosition", function () {
  var f = pageForm(), x = field(f, "__SCROLLPOSITIONX"), y = field(f, "__SCROLLPOSITIONY");
  if (x && y) scrollTo(parseInt(x.value, 10) || 0, parseInt(y.value, 10) || 0);
  return chain(f, "oldOnLoad", window, arguments);
});

/* ---- Disabled controls that post their value (Page.RegisterEnabledControl): enabled by
 * WebForm_OnSubmit for the submission, disabled again right after ---- */

var reEnabled = [];
define("WebForm_ReEnableControls", function () {
  var ids = window.__enabledControlArray;
  if (!ids) return false;
  [].forEach.call(ids, function (id) {
    var c = byId(id);
    if (c && c.disabled === true) { c.disabled = false; reEnabled.push(c); }
  });
  setTimeout(function () { window.WebForm_ReDisableControls(); }, 0);
  return true;
});
define("WebForm_ReDisableControls", function () {
  reEnabled.splice(0).forEach(function (c) { c.disabled = true; });
});
})();
