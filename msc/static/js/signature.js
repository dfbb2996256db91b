// The signature pad: strokes drawn on the canvas are kept as an SVG path ("M x y L x y ...") in the
// hidden signature field. Without JavaScript the desk chooses a thumbprint or a witness instead.
(function () {
  "use strict";
  var pad = document.querySelector(".signature-pad");
  if (!pad) { return; }
  var canvas = document.getElementById("signature-canvas");
  var field = document.getElementById(pad.getAttribute("data-target"));
  var ctx = canvas.getContext("2d");
  var path = field.value || "";
  var drawing = false;
  ctx.lineWidth = 2;
  ctx.lineCap = "round";
  ctx.strokeStyle = "#000";

  function point(event) {
    var box = canvas.getBoundingClientRect();
    var x = Math.round((event.clientX - box.left) * canvas.width / box.width);
    var y = Math.round((event.clientY - box.top) * canvas.height / box.height);
    return [Math.max(0, Math.min(canvas.width, x)), Math.max(0, Math.min(canvas.height, y))];
  }
  function redraw() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    var parts = path.trim().split(/\s+/);
    ctx.beginPath();
    for (var i = 0; i + 2 < parts.length; i += 3) {
      var x = parseInt(parts[i + 1], 10), y = parseInt(parts[i + 2], 10);
      if (parts[i] === "M") { ctx.moveTo(x, y); } else if (parts[i] === "L") { ctx.lineTo(x, y); }
    }
    ctx.stroke();
  }
  canvas.addEventListener("pointerdown", function (event) {
    drawing = true;
    canvas.setPointerCapture(event.pointerId);
    var p = point(event);
    path += "M " + p[0] + " " + p[1] + " ";
    event.preventDefault();
  });
  canvas.addEventListener("pointermove", function (event) {
    if (!drawing) { return; }
    var p = point(event);
    path += "L " + p[0] + " " + p[1] + " ";
    field.value = path.trim();
    redraw();
  });
  function stop() { drawing = false; field.value = path.trim(); }
  canvas.addEventListener("pointerup", stop);
  canvas.addEventListener("pointercancel", stop);
  document.getElementById("signature-clear").addEventListener("click", function () {
    path = "";
    field.value = "";
    redraw();
  });
  if (path) { redraw(); }
})();
