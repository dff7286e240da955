// The counter page's script: payments arriving live, the result of the
// charge being paid, and the camera as a scanner where the browser has a
// barcode detector. Everything it shows goes in as text, never as HTML.
(function () {
  "use strict";
  var live = document.getElementById("counter-live");
  var body = document.getElementById("counter-feed");
  var result = document.getElementById("counter-result");
  var waiting = result && result.dataset.open === "true" ? result.dataset.charge : "";
  var seen = null;

  function cell(row, text, href) {
    var td = document.createElement("td");
    if (href) {
      var a = document.createElement("a");
      a.href = href;
      a.textContent = text;
      td.appendChild(a);
    } else {
      td.textContent = text;
    }
    row.appendChild(td);
  }

  function render(payments) {
    var now = {};
    body.textContent = "";
    if (!payments.length) {
      var tr = document.createElement("tr");
      var td = document.createElement("td");
      td.colSpan = 5;
      td.textContent = body.dataset.none;
      tr.appendChild(td);
      body.appendChild(tr);
    }
    payments.forEach(function (p) {
      var tr = document.createElement("tr");
      tr.dataset.id = p.id;
      if (seen && !seen[p.id]) tr.className = "new";
      cell(tr, p.time); cell(tr, p.amount); cell(tr, p.channel); cell(tr, p.source); cell(tr, p.id, p.href);
      body.appendChild(tr);
      now[p.id] = true;
    });
    seen = now;
  }

  function poll() {
    if (document.hidden) return;
    var url = live.dataset.feed + (waiting ? "&charge=" + encodeURIComponent(waiting) : "");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (f) {
        if (!f) return;
        render(f.payments || []);
        if (waiting && f.charge && f.charge.status !== "pending") {
          waiting = "";
          location.reload(); // the page shows the verified result
        }
      })
      .catch(function () {});
  }

  if (live && body) {
    poll();
    setInterval(poll, 2000);
  }

  // The camera reads the customer's code (QR or barcode) where the browser
  // offers BarcodeDetector; a wedge scanner or the keyboard works anyway.
  var cam = document.getElementById("counter-camera");
  var video = document.getElementById("counter-video");
  var input = document.getElementById("counter-code");
  if (!cam || !video || !input || !("BarcodeDetector" in window) || !navigator.mediaDevices) return;
  cam.hidden = false;
  var stream = null, label = cam.textContent;
  function stop() {
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null;
    video.hidden = true;
    cam.textContent = label;
  }
  cam.addEventListener("click", function () {
    if (stream) { stop(); return; }
    var detector = new window.BarcodeDetector({ formats: ["qr_code", "code_128", "ean_13", "itf"] });
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (s) {
      stream = s;
      video.srcObject = s;
      video.hidden = false;
      cam.textContent = cam.dataset.stop;
      video.play();
      (function look() {
        if (!stream) return;
        detector.detect(video).then(function (codes) {
          for (var i = 0; i < codes.length; i++) {
            var v = String(codes[i].rawValue || "").replace(/\s+/g, "");
            if (/^[0-9]{10,32}$/.test(v)) {
              input.value = v;
              stop();
              input.form.requestSubmit();
              return;
            }
          }
          setTimeout(look, 250);
        }).catch(function () { setTimeout(look, 500); });
      })();
    }).catch(stop);
  });
})();
