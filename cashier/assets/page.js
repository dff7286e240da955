// polypay cashier: follows the order's status (Server-Sent Events, polling
// as the fallback) and reloads the page when it changes; the server renders
// the result. Also: copy button, and the return to the merchant.
//
// Embedded (?embed=1, in the merchant's iframe or cashier.js popup) it does
// not leave for return_url; it posts
//   {type: "polypay.cashier", status: "pending"|"paid"|"expired", order, height}
// to window.parent, only to the merchant origin the server allows (the same
// one CSP frame-ancestors lets frame it), on load and when its height
// changes; Esc adds request: "close". It answers {type: "polypay.cashier",
// request: "status"} from that origin only. The status is informational: the
// server rendered "paid" from a verified payment, but the merchant confirms
// with its own server.
(function () {
  "use strict";
  var root = document.getElementById("cashier");
  if (!root) { return; }
  var state = root.getAttribute("data-state");
  var id = root.getAttribute("data-order");
  var token = root.getAttribute("data-token");
  var self = root.getAttribute("data-self");
  var q = "?t=" + encodeURIComponent(token);

  var copy = document.getElementById("copy");
  if (copy) {
    copy.addEventListener("click", function () {
      var input = document.getElementById("qr_content");
      input.select();
      var done = function () { copy.textContent = copy.getAttribute("data-copied"); };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
      } else { document.execCommand("copy"); done(); }
    });
  }

  var embedded = root.getAttribute("data-embed") === "1";
  var parentOrigin = root.getAttribute("data-parent-origin");
  if (embedded && parentOrigin && window.parent !== window) {
    var status = state === "paid" || state === "expired" ? state : "pending";
    var lastHeight = -1;
    var post = function (request) {
      var height = Math.ceil(document.body.getBoundingClientRect().height);
      lastHeight = height;
      var m = { type: "polypay.cashier", status: status, order: id, height: height };
      if (request) { m.request = request; }
      window.parent.postMessage(m, parentOrigin);
    };
    post();
    if (window.ResizeObserver) {
      new ResizeObserver(function () {
        if (Math.ceil(document.body.getBoundingClientRect().height) !== lastHeight) { post(); }
      }).observe(document.body);
    }
    window.addEventListener("message", function (e) {
      if (e.origin !== parentOrigin || e.source !== window.parent) { return; }
      var d = e.data;
      if (d && d.type === "polypay.cashier" && d.request === "status") { post(); }
    });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { post("close"); }
    });
  }

  if (state === "paid") {
    var back = root.getAttribute("data-return");
    if (back) { setTimeout(function () { window.location.assign(back); }, 1500); }
    return;
  }
  if (state === "expired") { return; }
  if (state === "review") {
    // Held for the merchant's review: reload until the charge is sent.
    setTimeout(function () { window.location.reload(); }, 5000);
  }

  var finished = false;
  function changed(status, via) {
    if (finished || status === "pending") { return; }
    finished = true;
    window.location.replace(self + "&via=" + via);
  }
  function poll() {
    if (finished) { return; }
    fetch("/cashier/" + id + "/status" + q, { cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (j) { changed(j.status, "poll"); })
      .catch(function () {})
      .then(function () { setTimeout(poll, 3000); });
  }
  if (window.EventSource) {
    var es = new EventSource("/cashier/" + id + "/events" + q);
    var failures = 0;
    es.addEventListener("status", function (e) {
      failures = 0;
      var j = JSON.parse(e.data);
      if (j.status !== "pending") { es.close(); }
      changed(j.status, "sse");
    });
    es.onerror = function () {
      failures++;
      if (failures >= 3 && !finished) { es.close(); poll(); }
    };
  } else {
    poll();
  }
})();
