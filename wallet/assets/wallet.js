// polypay's browser wallet: makes a device's offline payment codes
// (package paycode: 9 | version | index + TOTP mod 10^8 | TOTP | Luhn)
// from its key and the clock, and draws them as Code 128. The key is a
// non-extractable WebCrypto HMAC key kept in IndexedDB: the page can sign
// with it but never read it back.
(function () {
  "use strict";
  var PERIOD = 30, HASH = { 1: "SHA-1", 2: "SHA-256" };
  var B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

  function base32(s) {
    s = s.replace(/=+$/, "").toUpperCase();
    var out = [], bits = 0, val = 0;
    for (var i = 0; i < s.length; i++) {
      var v = B32.indexOf(s[i]);
      if (v < 0) throw new Error("bad base32 secret");
      val = ((val << 5) | v) & 0xffff;
      bits += 5;
      if (bits >= 8) { out.push((val >>> (bits - 8)) & 255); bits -= 8; }
    }
    return new Uint8Array(out);
  }

  function pad(n, w) { var s = String(n); while (s.length < w) s = "0" + s; return s; }

  function luhn(s) {
    var sum = 0, dbl = true;
    for (var i = s.length - 1; i >= 0; i--) {
      var d = s.charCodeAt(i) - 48;
      if (dbl) { d *= 2; if (d > 9) d -= 9; }
      sum += d; dbl = !dbl;
    }
    return String((10 - sum % 10) % 10);
  }

  function importKey(secret, version) {
    if (!HASH[version]) return Promise.reject(new Error("unknown code version " + version));
    return crypto.subtle.importKey("raw", base32(secret), { name: "HMAC", hash: HASH[version] }, false, ["sign"]);
  }

  // totp is RFC 6238 with 8 digits: HMAC of the 30-second step, dynamic
  // truncation (RFC 4226 §5.3), mod 10^8.
  function totp(key, unix) {
    var msg = new Uint8Array(8), step = Math.floor(unix / PERIOD);
    for (var i = 7; i >= 0; i--) { msg[i] = step % 256; step = Math.floor(step / 256); }
    return crypto.subtle.sign("HMAC", key, msg).then(function (sig) {
      var h = new Uint8Array(sig), o = h[h.length - 1] & 15;
      var bin = ((h[o] & 127) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3];
      return pad(bin % 100000000, 8);
    });
  }

  function codeFrom(key, index, version, unix) {
    return totp(key, unix).then(function (t) {
      var body = "9" + version + pad((index + Number(t)) % 100000000, 8) + t;
      return body + luhn(body);
    });
  }

  // Code 128: each symbol's bar and space widths (values 0-105; 106 is
  // the stop, with its final bar).
  var W = ("212222 222122 222221 121223 121322 131222 122213 122312 132212 221213 221312 231212 112232 122132 " +
    "122231 113222 123122 123221 223211 221132 221231 213212 223112 312131 311222 321122 321221 312212 322112 " +
    "322211 212123 212321 232121 111323 131123 131321 112313 132113 132311 211313 231113 231311 112133 112331 " +
    "132131 113123 113321 133121 313121 211331 231131 213113 213311 213131 311123 311321 331121 312113 312311 " +
    "332111 314111 221411 431111 111224 111422 121124 121421 141122 141221 112214 112412 122114 122411 142112 " +
    "142211 241211 221114 413111 241112 134111 111242 121142 121241 114212 124112 124211 411212 421112 421211 " +
    "212141 214121 412121 111143 111341 131141 114113 114311 411113 411311 113141 114131 311141 411131 211412 " +
    "211214 211232 2331112").split(" ");

  // code128 encodes digits in code set C (pairs), an odd last digit in
  // set B, and returns the modules: "1" bar, "0" space.
  function code128(digits) {
    var vals = [105], i = 0;
    for (; i + 1 < digits.length; i += 2) vals.push(Number(digits.substr(i, 2)));
    if (i < digits.length) { vals.push(100); vals.push(digits.charCodeAt(i) - 32); }
    var sum = vals[0];
    for (var j = 1; j < vals.length; j++) sum += j * vals[j];
    vals.push(sum % 103);
    vals.push(106);
    var out = "";
    vals.forEach(function (v) {
      var w = W[v];
      for (var k = 0; k < w.length; k++) out += new Array(Number(w[k]) + 1).join(k % 2 === 0 ? "1" : "0");
    });
    return out;
  }

  function drawBarcode(el, modules) {
    var ns = "http://www.w3.org/2000/svg", quiet = 10, n = modules.length + 2 * quiet;
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 " + n + " 60");
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("shape-rendering", "crispEdges");
    var bg = document.createElementNS(ns, "rect");
    bg.setAttribute("width", n); bg.setAttribute("height", 60); bg.setAttribute("fill", "#fff");
    svg.appendChild(bg);
    for (var i = 0; i < modules.length;) {
      if (modules[i] !== "1") { i++; continue; }
      var start = i;
      while (i < modules.length && modules[i] === "1") i++;
      var r = document.createElementNS(ns, "rect");
      r.setAttribute("x", quiet + start); r.setAttribute("width", i - start); r.setAttribute("height", 60);
      svg.appendChild(r);
    }
    el.textContent = "";
    el.appendChild(svg);
    el.dataset.modules = modules;
  }

  // The enrolled device lives in IndexedDB: its parameters and its key.
  function db() {
    return new Promise(function (ok, fail) {
      var rq = indexedDB.open("polypay-wallet", 1);
      rq.onupgradeneeded = function () { rq.result.createObjectStore("device"); };
      rq.onsuccess = function () { ok(rq.result); };
      rq.onerror = function () { fail(rq.error); };
    });
  }
  function store(mode, fn) {
    return db().then(function (d) {
      return new Promise(function (ok, fail) {
        var tx = d.transaction("device", mode), rq = fn(tx.objectStore("device"));
        tx.oncomplete = function () { ok(rq && rq.result); };
        tx.onerror = function () { fail(tx.error); };
      });
    });
  }
  function load() { return store("readonly", function (s) { return s.get("current"); }); }
  function save(dev) { return store("readwrite", function (s) { return s.put(dev, "current"); }); }
  function forget() { return store("readwrite", function (s) { return s.delete("current"); }); }

  // enroll reads #enroll= (base64url JSON from wallet_url), keeps the
  // device and its key, and removes the fragment from the address.
  function enroll() {
    var m = /^#enroll=([A-Za-z0-9_-]+)$/.exec(location.hash);
    if (!m) return Promise.resolve();
    history.replaceState(null, "", location.pathname);
    var p;
    try {
      p = JSON.parse(atob(m[1].replace(/-/g, "+").replace(/_/g, "/")));
    } catch (e) {
      return Promise.reject(new Error("the enrollment link is damaged"));
    }
    if (typeof p.secret !== "string" || typeof p.index !== "number" || !HASH[p.version]) {
      return Promise.reject(new Error("the enrollment link is incomplete"));
    }
    return importKey(p.secret, p.version).then(function (key) {
      return save({ device: String(p.device || ""), user: String(p.user || ""), index: p.index, version: p.version,
        max_amount: Number(p.max_amount) || 0, live: !!p.live, key: key });
    });
  }

  function $(id) { return document.getElementById(id); }
  var shown = false, current = "";

  function groups(code) { return code.replace(/(\d{4})(?=\d)/g, "$1 "); }

  function show(dev) {
    var now = Date.now() / 1000;
    return codeFrom(dev.key, dev.index, dev.version, now).then(function (code) {
      if (code !== current) {
        current = code;
        drawBarcode($("barcode"), code128(code));
      }
      $("digits").textContent = shown ? groups(code) : code.substr(0, 4) + " •••• •••• •••• •••";
      $("left").textContent = String(PERIOD - Math.floor(now) % PERIOD);
      $("online_state").textContent = navigator.onLine ? "" : "离线 · offline";
    });
  }

  function start() {
    var main = $("wallet");
    enroll().then(load).then(function (dev) {
      if (!dev) { $("none").hidden = false; main.dataset.state = "none"; return; }
      $("code_view").hidden = false;
      $("user").textContent = dev.user;
      $("device").textContent = dev.device;
      $("mode").textContent = dev.live ? "" : "测试 test";
      $("max").textContent = "¥" + (dev.max_amount / 100).toFixed(2);
      $("reveal").addEventListener("click", function () {
        shown = !shown;
        var b = $("reveal"), t = b.textContent;
        b.textContent = b.dataset.hide; b.dataset.hide = t;
        show(dev);
      });
      $("forget").addEventListener("click", function () {
        forget().then(function () { location.reload(); });
      });
      return show(dev).then(function () {
        main.dataset.state = "code";
        setInterval(function () { show(dev); }, 1000);
      });
    }).catch(function (e) {
      $("error").hidden = false;
      $("error").textContent = String(e && e.message || e);
      main.dataset.state = "error";
    });
    if ("serviceWorker" in navigator) navigator.serviceWorker.register("sw.js", { scope: "./" }).catch(function () {});
  }

  // For tests and integrators: the algorithm with a raw secret, the
  // barcode modules, and the code on screen.
  window.polypayWallet = {
    generate: function (secret, index, version, unix) {
      return importKey(secret, version).then(function (k) { return codeFrom(k, index, version, unix); });
    },
    code128: code128,
    current: function () { return current; }
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
