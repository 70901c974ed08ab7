// Punchcard scanner: reads a QR code from the camera and submits it with the page's form.
// The browser's BarcodeDetector reads frames where it exists; elsewhere frames are posted to
// the server (JPEG), which reads them. Without a camera or this script, the form's text field
// still takes a pasted or typed code.
(function () {
  "use strict";

  function setup(box) {
    var video = box.querySelector("[data-scanner-video]");
    var status = box.querySelector("[data-scanner-status]");
    var start = box.querySelector("[data-scanner-start]");
    var form = document.getElementById(box.getAttribute("data-form"));
    var input = form && form.querySelector("[data-scanner-input], input[name=token]");
    var frameUrl = box.getAttribute("data-frame-url");
    var csrf = box.getAttribute("data-csrf") || "";
    var canvas = document.createElement("canvas");
    var stream = null;
    var found = false;
    if (!form || !input) { return; }
    var say = function (text) { if (status) { status.textContent = text; } };

    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say("This browser can't open the camera here: type or paste the code below.");
      return;
    }

    function stop() {
      if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
      stream = null;
    }

    function read(text) {
      if (found || !text) { return; }
      found = true;
      stop();
      input.value = text;
      box.setAttribute("data-read", "yes");
      say("Code read.");
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
    }

    function withDetector() {
      var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      var look = function () {
        if (found || !stream) { return; }
        detector.detect(video).then(function (codes) {
          if (codes.length > 0) { read(codes[0].rawValue); } else { window.setTimeout(look, 150); }
        }, function () {
          box.setAttribute("data-decoder-used", "server");
          withServer();
        });
      };
      look();
    }

    function withServer() {
      var send = function () {
        if (found || !stream) { return; }
        var w = video.videoWidth, h = video.videoHeight;
        if (!w || !h) { window.setTimeout(send, 200); return; }
        var scale = Math.min(1, 960 / Math.max(w, h));
        canvas.width = Math.round(w * scale);
        canvas.height = Math.round(h * scale);
        canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
        canvas.toBlob(function (blob) {
          if (!blob) { window.setTimeout(send, 500); return; }
          fetch(frameUrl, {
            method: "POST",
            credentials: "same-origin",
            headers: { "Content-Type": "image/jpeg", "X-CSRF-Token": csrf },
            body: blob
          }).then(function (r) { return r.json(); }).then(function (answer) {
            if (answer.token) { read(answer.token); } else { window.setTimeout(send, 400); }
          }, function () { window.setTimeout(send, 1500); });
        }, "image/jpeg", 0.85);
      };
      send();
    }

    function open() {
      say("Opening the camera…");
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
        .then(function (s) {
          stream = s;
          video.srcObject = s;
          video.hidden = false;
          if (start) { start.hidden = true; }
          return video.play();
        })
        .then(function () {
          say("Looking for a code…");
          var detector = box.getAttribute("data-decoder") !== "server" && "BarcodeDetector" in window;
          box.setAttribute("data-decoder-used", detector ? "browser" : "server");
          if (detector) { withDetector(); } else { withServer(); }
        })
        .catch(function () {
          stop();
          say("The camera did not open: allow it, or type or paste the code below.");
          if (start) { start.hidden = false; }
        });
    }

    if (start) { start.addEventListener("click", open); }
    if (box.hasAttribute("data-autostart")) { open(); }
    window.addEventListener("pagehide", stop);
  }

  document.querySelectorAll("[data-scanner]").forEach(setup);
})();
