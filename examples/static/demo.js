/* The demo page's own script; demo_app.py serves it after the CallServer function that
 * callback_reference() wrote. Postbacks need none of it: it answers the callback, and fills
 * the inspector by listening to the client script's postback:* events
 * (docs/reference/client-script.md) and to the browser's own measurements. */

function byId(id) { return document.getElementById(id); }
function formatBytes(bytes) { return bytes.toLocaleString("en") + " bytes"; }

/* ---- The callback round trip: CallServer(arg) -> the server -> HandleResult(result) ---- */

// The context stays in the browser and comes back to HandleResult (ASP.NET's contract): it
// carries the moment the call left.
byId("call-server").addEventListener("click", function () {
  CallServer(byId("call-arg").value, { sentAt: performance.now() });
});
function HandleResult(result, context) {
  byId("lbl").textContent = result;
  showRoundTrip(context);
}
function HandleError(message, context) {
  byId("lbl").textContent = "Error: " + message;
  showRoundTrip(context);
}
function showRoundTrip(context) {
  byId("callback-ms").textContent = (performance.now() - context.sentAt).toFixed(1) + " ms";
}

/* ---- Bytes: a partial answer against the full page ---- */

// Both figures are what this browser received, from Resource Timing: encodedBodySize is a
// body's size as it came over the wire. The full page is the last one loaded whole (by GET or
// a full postback); the page a full postback would send now differs from it only by what the
// partial postbacks since changed (a row fewer, a counter), so the comparison is close, not
// exact (benchmarks/partial.py sends the very same postback both ways for exact figures).
function fullPageBytes() { return performance.getEntriesByType("navigation")[0].encodedBodySize; }
function showFullPage() { byId("full-bytes").textContent = fullPageBytes().toLocaleString("en"); }
if (document.readyState === "complete") showFullPage(); else addEventListener("load", showFullPage);

// A partial postback is a fetch (a callback is an XMLHttpRequest): its answer is the first
// fetch that started after postback:before. Its timing entry is usually there by the swap,
// else it is reported just after.
function whenFetched(since, use) {
  function answer(entries) {
    return entries.filter(function (e) {
      return e.initiatorType === "fetch" && e.startTime >= since;
    })[0];
  }
  var found = answer(performance.getEntriesByType("resource"));
  if (found) return use(found);
  var observer = new PerformanceObserver(function (list) {
    var entry = answer(list.getEntries());
    if (entry) { observer.disconnect(); use(entry); }
  });
  observer.observe({ type: "resource" });
}
function showPartial(entry) {
  var partial = entry.encodedBodySize, full = fullPageBytes();
  byId("partial-bytes").textContent = formatBytes(partial);
  byId("partial-saving").textContent =
    "(" + Math.round(100 * (1 - partial / full)) + "% less than the full page)";
  byId("partial-meter").max = full;
  byId("partial-meter").value = partial;
  performance.clearResourceTimings(); // (the browser keeps 250 entries, then drops new ones)
}
var partialSentAt = null;
document.addEventListener("postback:before", function (e) {
  partialSentAt = e.detail.panels.length ? performance.now() : null;
});
document.addEventListener("postback:afterswap", function () {
  if (partialSentAt === null) return; // (one afterswap per panel: the first one shows it)
  whenFetched(partialSentAt, showPartial);
  partialSentAt = null;
});

/* ---- Tamper with the view state ---- */

// The button is a postback ("increment", as Count a click). This listener runs before the
// client script's, which listens on the document (where the click arrives last), so the
// postback carries a __VIEWSTATE with one character of its signed payload changed. The
// middleware checks the signature before anything else and refuses it: 403, "tampered"; the
// handler and the app never run. The genuine value is put back when the refusal comes, so the
// page goes on working.
var genuineViewState = null;
function viewStateField() { return byId("orders").querySelector('input[name="__VIEWSTATE"]'); }
byId("tamper").addEventListener("click", function () {
  var value = viewStateField().value, middle = value.indexOf(".") >> 1; // (before the signature)
  genuineViewState = value;
  viewStateField().value = value.slice(0, middle) + (value[middle] === "A" ? "B" : "A") +
    value.slice(middle + 1);
});
function putViewStateBack() {
  if (genuineViewState === null) return;
  viewStateField().value = genuineViewState;
  genuineViewState = null;
}

/* ---- Refusals, shown in the page (the client script would alert() them) ---- */

var failedStatus = 0;
document.addEventListener("postback:error", function (e) {
  failedStatus = e.detail.status;
  putViewStateBack();
});
document.addEventListener("postback:refused", function (e) {
  e.preventDefault(); // no alert: shown here
  var refusal = byId("refusal");
  refusal.textContent = "Refused: HTTP " + failedStatus + ", reason \u201c" + e.detail.reason +
    "\u201d: " + e.detail.message + " Neither the handler nor the app ran; the page is as it was.";
  refusal.hidden = false;
});
document.addEventListener("postback:before", function () {
  byId("refusal").hidden = true;
});
document.addEventListener("postback:afterswap", function () {
  genuineViewState = null; // (the answer brought fresh tokens)
});

/* ---- The client events, as they are dispatched ---- */

["before", "beforeswap", "afterswap", "beforecallback", "aftercallback", "error", "refused",
  "renewed"].forEach(function (name) {
  document.addEventListener("postback:" + name, function (e) {
    var list = byId("client-events");
    if (name === "before" || name === "beforecallback") list.replaceChildren();
    var item = document.createElement("li");
    item.textContent = e.type + " " + JSON.stringify(e.detail);
    list.append(item);
  });
});
