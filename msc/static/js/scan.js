// Camera scanning at the desk, where the browser can do it itself (BarcodeDetector and a camera):
// a button next to the search box reads a beneficiary card's QR code, types it into the box and
// sends the form (or only types it, where the form says data-scan-fill-only: the offline desk's hand-over,
// whose items come after the card). Without it the page is unchanged: type the token, or use a wedge scanner.
(function () {
  "use strict";
  var media = navigator.mediaDevices;
  if (!("BarcodeDetector" in window) || !media || typeof media.getUserMedia !== "function") { return; }

  function setUp(form, detector) {
    var input = form.querySelector(form.getAttribute("data-scan"));
    if (!input) { return; }
    var start = document.createElement("button");
    start.type = "button";
    start.className = "scan-start";
    start.textContent = form.getAttribute("data-scan-label");
    var panel = document.createElement("div");
    panel.className = "scan-panel";
    panel.hidden = true;
    var video = document.createElement("video");
    video.muted = true;
    video.setAttribute("playsinline", "");
    video.setAttribute("aria-hidden", "true");
    var stop = document.createElement("button");
    stop.type = "button";
    stop.textContent = form.getAttribute("data-scan-stop");
    var status = document.createElement("p");
    status.className = "scan-status";
    status.setAttribute("role", "status");
    panel.appendChild(video);
    panel.appendChild(stop);
    form.appendChild(start);
    form.appendChild(panel);
    form.appendChild(status);

    var stream = null;
    var timer = null;
    function close() {
      if (timer) { clearTimeout(timer); timer = null; }
      if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
      video.srcObject = null;
      panel.hidden = true;
      start.hidden = false;
    }
    function look() {
      timer = null;
      if (!stream) { return; }
      detector.detect(video).then(function (codes) {
        if (!stream) { return; }
        var text = codes.length ? String(codes[0].rawValue || "").trim() : "";
        if (text) {
          close();
          input.value = text;
          if (form.hasAttribute("data-scan-fill-only")) { input.dispatchEvent(new Event("change")); return; }
          if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
        } else {
          timer = setTimeout(look, 250);
        }
      }).catch(function () { if (stream) { timer = setTimeout(look, 500); } });
    }
    start.addEventListener("click", function () {
      status.textContent = "";
      media.getUserMedia({video: {facingMode: "environment"}, audio: false}).then(function (s) {
        stream = s;
        video.srcObject = s;
        panel.hidden = false;
        start.hidden = true;
        stop.focus();
        return video.play();
      }).then(look).catch(function () {
        close();
        status.textContent = form.getAttribute("data-scan-failed");
        input.focus();
      });
    });
    stop.addEventListener("click", function () { close(); start.focus(); });
    document.addEventListener("visibilitychange", function () { if (document.hidden) { close(); } });
  }

  var forms = document.querySelectorAll("form[data-scan]");
  if (!forms.length) { return; }
  var formats = BarcodeDetector.getSupportedFormats ? BarcodeDetector.getSupportedFormats() : Promise.resolve(["qr_code"]);
  formats.then(function (list) {
    if (list.indexOf("qr_code") < 0) { return; }
    var detector = new BarcodeDetector({formats: ["qr_code"]});
    forms.forEach(function (form) { setUp(form, detector); });
  }).catch(function () { /* no detector: typing and keyboard-wedge scanners still work */ });
}());
