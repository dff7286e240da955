// polypay cashier.js: the popup integration. A merchant page includes
//   <script src="https://<polypay>/cashier.js"></script>
// and calls
//   PolypayCashier.open(cashierURL, {onResult: function (r) { ... }});
// which shows the order's cashier (in embed mode, in an iframe on polypay's
// origin) in a modal overlay on the merchant's page. onResult is called once
// with {status: "paid"|"expired"|"closed", order: id}: paid or expired as
// the cashier frame reports them (checked: from polypay's origin and from
// this frame only), closed when the customer closes the overlay first (close
// button, or Esc). The result is informational: the merchant confirms the
// payment with its server (GET /v1/orders/{id}, or the webhook).
//
// Keyboard: focus moves into the dialog and stays there (the rest of the
// page is inert while it is open), Esc closes it, and focus returns to where
// it was. Styles are set through the DOM (element.style), so a merchant's
// CSP without 'unsafe-inline' for styles does not block them.
(function (w, d) {
  "use strict";
  if (w.PolypayCashier) { return; }
  var current = null;

  function style(el, s) {
    for (var k in s) {
      if (Object.prototype.hasOwnProperty.call(s, k)) { el.style[k] = s[k]; }
    }
    return el;
  }
  function zh() { return /^zh/i.test(d.documentElement.lang || navigator.language || ""); }

  function open(cashierURL, opts) {
    opts = opts || {};
    if (current) { current.close(); }
    var url = new URL(cashierURL, w.location.href);
    url.searchParams.set("embed", "1");
    url.searchParams.set("parent", w.location.origin); // where the cashier posts its status, if the app allows it
    var origin = url.origin;
    var m = /\/cashier\/([0-9A-Za-z]+)$/.exec(url.pathname);
    var order = m ? m[1] : "";
    var previous = d.activeElement;
    var reported = false;
    var closing = null;
    var small = w.matchMedia && w.matchMedia("(max-width: 560px)").matches;

    var overlay = style(d.createElement("div"), {
      position: "fixed", top: "0", right: "0", bottom: "0", left: "0", zIndex: "2147483647",
      background: "rgba(15,20,35,.55)", display: "flex", alignItems: small ? "stretch" : "center",
      justifyContent: "center", padding: small ? "0" : "24px 12px"
    });
    overlay.setAttribute("data-polypay-cashier", "");
    var dialog = style(d.createElement("div"), {
      background: "#fff", width: small ? "100%" : "480px", maxWidth: "100%",
      maxHeight: small ? "100%" : "calc(100vh - 48px)", height: small ? "100%" : "auto",
      borderRadius: small ? "0" : "14px", boxShadow: "0 12px 48px rgba(0,0,0,.3)",
      display: "flex", flexDirection: "column", overflow: "hidden"
    });
    dialog.setAttribute("role", "dialog");
    dialog.setAttribute("aria-modal", "true");
    dialog.setAttribute("aria-label", zh() ? "支付收银台" : "Checkout");
    var bar = style(d.createElement("div"), {
      display: "flex", justifyContent: "flex-end", padding: "6px 6px 0", flex: "0 0 auto"
    });
    var closeBtn = style(d.createElement("button"), {
      font: "24px/1 sans-serif", width: "40px", height: "40px", border: "0", borderRadius: "8px",
      background: "#eef1f5", color: "#1d2330", cursor: "pointer"
    });
    closeBtn.type = "button";
    closeBtn.textContent = "\u00d7";
    closeBtn.setAttribute("aria-label", zh() ? "关闭" : "Close");
    closeBtn.setAttribute("data-polypay-close", "");
    var frame = style(d.createElement("iframe"), {
      border: "0", width: "100%", height: small ? "100%" : "420px", flex: small ? "1 1 auto" : "0 1 auto",
      display: "block", background: "#fff"
    });
    frame.title = zh() ? "支付收银台" : "Checkout";
    frame.setAttribute("allow", "clipboard-write");
    frame.src = url.href;
    // Focus guards: Tab past either end of the dialog wraps around.
    function guard(toStart) {
      var g = d.createElement("div");
      g.tabIndex = 0;
      g.addEventListener("focus", function () { (toStart ? closeBtn : frame).focus(); });
      return g;
    }
    bar.appendChild(closeBtn);
    dialog.appendChild(bar);
    dialog.appendChild(frame);
    overlay.appendChild(guard(false));
    overlay.appendChild(dialog);
    overlay.appendChild(guard(true));

    // The rest of the page is inert while the dialog is open.
    var inerted = [];
    Array.prototype.forEach.call(d.body.children, function (el) {
      if (!el.inert) { el.inert = true; inerted.push(el); }
    });
    var docOverflow = d.documentElement.style.overflow;
    d.documentElement.style.overflow = "hidden";

    function report(status) {
      if (reported) { return; }
      reported = true;
      if (typeof opts.onResult === "function") {
        try { opts.onResult({ status: status, order: order }); } catch (e) { setTimeout(function () { throw e; }); }
      }
    }
    function onMessage(e) {
      if (e.origin !== origin || e.source !== frame.contentWindow) { return; }
      var data = e.data;
      if (!data || data.type !== "polypay.cashier" || (order && data.order !== order)) { return; }
      if (!small && typeof data.height === "number" && data.height > 0) {
        frame.style.height = Math.ceil(data.height) + "px";
      }
      if (data.status === "paid" || data.status === "expired") {
        report(data.status);
        if (data.status === "paid" && !closing) { closing = setTimeout(close, 1500); }
      }
      if (data.request === "close") { close(); }
    }
    function onKey(e) {
      if (e.key === "Escape") { e.preventDefault(); close(); }
    }
    function close() {
      if (current !== api) { return; }
      current = null;
      if (closing) { clearTimeout(closing); }
      w.removeEventListener("message", onMessage);
      d.removeEventListener("keydown", onKey, true);
      inerted.forEach(function (el) { el.inert = false; });
      d.documentElement.style.overflow = docOverflow;
      if (overlay.parentNode) { overlay.parentNode.removeChild(overlay); }
      report("closed");
      if (previous && previous.focus) { previous.focus(); }
    }
    closeBtn.addEventListener("click", close);
    w.addEventListener("message", onMessage);
    d.addEventListener("keydown", onKey, true);
    d.body.appendChild(overlay);
    closeBtn.focus();
    var api = { close: close, frame: frame };
    current = api;
    return api;
  }

  w.PolypayCashier = {
    open: open,
    close: function () { if (current) { current.close(); } }
  };
})(window, document);
