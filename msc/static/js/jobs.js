// Follow a job while it runs: ask its status every second or two and show its progress; reload the page
// once it has finished (the page then says what it came to). Without JavaScript the page refreshes itself.
(function () {
  "use strict";
  document.querySelectorAll("[data-job-status]").forEach(function (box) {
    if (box.getAttribute("data-job-finished") === "true") { return; }
    var bar = box.querySelector("progress");
    var label = box.querySelector(".job-label");
    var url = box.getAttribute("data-job-status");
    function poll() {
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (res) {
          if (!(res.headers.get("Content-Type") || "").startsWith("application/json")) { throw new Error("not json"); }
          return res.json();
        })
        .then(function (data) {
          if (data.percent !== null) { bar.value = data.percent; bar.textContent = data.percent_text; }
          label.textContent = data.label;
          if (data.finished) { window.location.reload(); } else { window.setTimeout(poll, 1500); }
        })
        .catch(function () { window.setTimeout(poll, 5000); });
    }
    window.setTimeout(poll, 1000);
  });
}());
