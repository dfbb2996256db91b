// The fund application: show only the chosen case type's questions as the choice changes, and the
// evidence, assistance lines and send button with them. Without JavaScript the first send does the same
// on the server; the hidden "asked" field tells it which type's questions the page showed.
(function () {
  "use strict";
  var form = document.querySelector("form.fund-apply");
  if (!form) { return; }
  var asked = form.querySelector("input[name=asked]");
  var answers = document.getElementById("fund-answers");
  var choose = document.getElementById("fund-choose");
  var send = document.getElementById("fund-send");

  function show(type) {
    if (!type) { return; }
    asked.value = type;
    answers.hidden = false;
    choose.hidden = true;
    send.hidden = false;
    var parts = form.querySelectorAll("[data-case-types]");
    for (var i = 0; i < parts.length; i++) {
      parts[i].hidden = parts[i].getAttribute("data-case-types").split(" ").indexOf(type) < 0;
    }
  }

  form.addEventListener("change", function (event) {
    if (event.target.name === "case_type") { show(event.target.value); }
  });
  var checked = form.querySelector("input[name=case_type]:checked");
  if (checked) { show(checked.value); }
}());
