// Punchcard dashboard: small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-nav-toggle]");
    if (toggle) {
      var nav = document.getElementById(toggle.getAttribute("aria-controls"));
      if (nav) {
        var open = nav.classList.toggle("open");
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
      }
    }
    // Copy buttons: data-copy names the id of the field whose value is copied.
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var source = document.getElementById(copy.getAttribute("data-copy"));
      if (source) {
        source.select();
        var done = function () { copy.textContent = "Copied"; };
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(source.value).then(done, function () { document.execCommand("copy"); done(); });
        } else {
          document.execCommand("copy");
          done();
        }
      }
    }
    // Links marked data-copy-text copy that text (a rule's id), then go where they point,
    // telling the page the copy worked; without this script they are plain links.
    var copyLink = event.target.closest("a[data-copy-text]");
    var plainClick = event.button === 0 && !event.metaKey && !event.ctrlKey && !event.shiftKey && !event.altKey;
    if (copyLink && plainClick && navigator.clipboard && navigator.clipboard.writeText) {
      event.preventDefault();
      var go = function (copied) {
        var url = new URL(copyLink.href, window.location.href);
        if (copied) url.searchParams.set("copied", "1");
        window.location.assign(url.toString());
      };
      navigator.clipboard.writeText(copyLink.getAttribute("data-copy-text")).then(
        function () { go(true); }, function () { go(false); });
      return;
    }
    // Close open action menus when clicking elsewhere.
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    // Avoid double submissions (a second code email, a second key).
    form.querySelectorAll("button[type=submit]").forEach(function (b) {
      window.setTimeout(function () { b.disabled = true; }, 0);
    });
  });

  // File uploads marked data-upload go through XMLHttpRequest to show their progress, then a
  // "processing" state while the server checks the rows; the answer (the next page, or the
  // form with its errors) replaces the page's content. Without this script the form posts.
  function sizeLabel(bytes) {
    if (bytes >= 1048576) return (bytes / 1048576).toFixed(1) + " MB";
    if (bytes >= 1024) return Math.round(bytes / 1024) + " KB";
    return bytes + " bytes";
  }

  function showAnswer(form, xhr) {
    var url = xhr.responseURL || "";
    var redirected = url && url !== form.action;
    if (redirected && new URL(url).pathname !== window.location.pathname) {
      // Somewhere else (signed out, another page): go there as a form post would.
      window.location.assign(url);
      return;
    }
    var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
    var fresh = doc.querySelector("main.content");
    var main = document.querySelector("main.content");
    if (fresh && main) {
      main.innerHTML = fresh.innerHTML;
      document.title = doc.title;
      if (redirected) window.history.replaceState(null, "", url);
      window.scrollTo(0, 0);
    } else {
      // An error page: show it whole.
      document.replaceChild(document.importNode(doc.documentElement, true), document.documentElement);
    }
  }

  function sendWithProgress(form) {
    var box = form.querySelector("[data-upload-progress]");
    if (!box || !window.FormData || !window.DOMParser || !window.XMLHttpRequest) return false;
    var xhr = new XMLHttpRequest();
    if (!xhr.upload) return false;
    var bar = box.querySelector("progress");
    var status = box.querySelector(".upload-status");
    var input = form.querySelector("input[type=file]");
    var file = input && input.files && input.files[0];
    var name = file ? file.name + " (" + sizeLabel(file.size) + ")" : "the file";
    var data = new FormData(form);
    box.hidden = false;
    box.classList.remove("processing");
    bar.value = 0;
    status.textContent = "Uploading " + name + "… 0%";
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      var pct = Math.min(100, Math.floor((e.loaded * 100) / e.total));
      bar.value = pct;
      status.textContent = "Uploading " + name + "… " + pct + "%";
    });
    xhr.upload.addEventListener("load", function () {
      bar.removeAttribute("value");
      box.classList.add("processing");
      status.textContent = "Processing: checking every row of " + name + " and importing the codes…";
    });
    xhr.addEventListener("load", function () { showAnswer(form, xhr); });
    xhr.addEventListener("error", function () {
      box.classList.remove("processing");
      bar.value = 0;
      status.textContent = "The upload did not reach the server. Check your connection and try again.";
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
    });
    xhr.open("POST", form.action);
    xhr.send(data);
    return true;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || !form.hasAttribute("data-upload")) return;
    if (sendWithProgress(form)) event.preventDefault();
  });
})();

// Pickers marked data-autosubmit send their form on change; their button (data-hide-with-js)
// is only for browsers without this script.
(function () {
  document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
    form.querySelectorAll("[data-hide-with-js]").forEach(function (b) { b.hidden = true; });
    form.querySelectorAll("select").forEach(function (s) {
      s.addEventListener("change", function () { form.submit(); });
    });
  });

  // A displayed code: count down and learn when it is claimed.
  document.querySelectorAll("[data-claim]").forEach(function (box) {
    var url = box.getAttribute("data-status-url");
    var state = box.querySelector("[data-claim-state]");
    var qr = box.querySelector("[data-claim-qr]");
    var tick = function () {
      fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (a) {
        box.setAttribute("data-status", a.status);
        if (a.status === "claimed") {
          state.textContent = "Claimed by " + a.claimed_by + ".";
          qr.hidden = true;
        } else if (a.status === "expired") {
          state.textContent = "This code has expired.";
          qr.hidden = true;
        } else {
          var s = state.querySelector("[data-seconds]");
          if (s) { s.textContent = a.seconds_left; }
          window.setTimeout(tick, 2000);
        }
      }, function () { window.setTimeout(tick, 5000); });
    };
    if (box.getAttribute("data-status") === "open") { window.setTimeout(tick, 2000); }
  });
})();
