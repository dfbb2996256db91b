// Key rotation: while the page is open, carry the rotation on one step after another and show its
// progress. Without JavaScript the "Continue the rotation" button runs one step at a time.
(function () {
  "use strict";
  document.querySelectorAll(".rotation").forEach(function (box) {
    var form = box.querySelector("form.rotation-step");
    if (!form) { return; }
    var bar = box.querySelector("progress");
    var label = box.querySelector(".rotation-label");
    var button = form.querySelector("button");
    button.disabled = true;
    function step() {
      fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin",
                          headers: {"Accept": "application/json"}})
        .then(function (res) {
          if (!(res.headers.get("Content-Type") || "").startsWith("application/json")) { throw new Error("not json"); }
          return res.json();
        })
        .then(function (data) {
          if (data.error) { label.textContent = data.error; button.disabled = false; return; }
          bar.value = data.percent;
          bar.textContent = data.percent_text;
          label.textContent = data.label;
          if (data.phase === "done") { window.location.reload(); } else { step(); }
        })
        .catch(function () { label.textContent = box.getAttribute("data-interrupted"); button.disabled = false; });
    }
    step();
  });
}());
