// SPDX-License-Identifier: Apache-2.0
// trygg-app's only script (served from the binary; the CSP allows no other).
// It polls /events for the notices of the WatchReferrals stream that the app
// keeps open, shows a notification when a referral arrives or changes, and
// refreshes the lists on pages marked data-live. Neither polling nor the
// refreshes are activity: the idle lock still locks an app left open.
(function () {
  "use strict";
  var seq = null;
  var body = document.body;
  var box = document.getElementById("notices");

  function say(text, referral) {
    var p = document.createElement("p");
    p.className = "notice";
    var a = document.createElement("a");
    a.href = "/referral?id=" + encodeURIComponent(referral);
    a.textContent = text;
    p.appendChild(a);
    box.appendChild(p);
  }

  function refreshMain() {
    // The marker tells the app this is no use by the caseworker: a refresh
    // must not hold off the idle lock.
    fetch(window.location.pathname + window.location.search, {
      credentials: "same-origin",
      headers: { "X-Requested-With": "trygg-refresh" }
    })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("main");
        var main = document.getElementById("main");
        if (fresh && main) main.replaceChildren.apply(main, Array.prototype.slice.call(fresh.childNodes));
      });
  }

  function poll() {
    fetch("/events?after=" + (seq === null ? 0 : seq), { credentials: "same-origin" })
      .then(function (r) {
        if (r.status !== 200) return null;
        return r.json();
      })
      .then(function (data) {
        if (data === null) return;
        if (data.locked) {
          window.location.assign("/unlock");
          return;
        }
        if (seq !== null && data.notices.length > 0) {
          data.notices.forEach(function (n) {
            var text = n.incoming && n.state === "sent" ? body.dataset.newReferral : body.dataset.changedReferral;
            say(text, n.referral);
          });
          if (body.dataset.live === "1") refreshMain();
        }
        seq = data.seq;
      })
      .catch(function () {})
      .finally(function () { window.setTimeout(poll, 1000); });
  }

  // Attachments upload with a progress bar; without this script the form
  // still posts as a plain form.
  var attach = document.getElementById("attach-form");
  if (attach) {
    attach.addEventListener("submit", function (event) {
      event.preventDefault();
      // Over the app's limit: say so here instead of uploading it to be
      // refused (the server refuses it from its length either way).
      var input = document.getElementById("file");
      var max = Number(attach.dataset.maxBytes);
      if (input && input.files.length > 0 && max > 0 && input.files[0].size > max) {
        var error = document.getElementById("attach-error");
        if (!error) {
          error = document.createElement("div");
          error.id = "attach-error";
          error.className = "error";
          error.setAttribute("role", "alert");
          attach.insertBefore(error, attach.firstChild);
        }
        error.textContent = attach.dataset.tooLarge;
        return;
      }
      var bar = document.getElementById("upload-progress");
      bar.hidden = false;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", attach.action);
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) bar.value = Math.round((100 * e.loaded) / e.total);
      };
      xhr.onload = function () {
        if (xhr.status < 400) {
          window.location.assign(xhr.responseURL);
          return;
        }
        // The error page: show its message in place of this page's.
        bar.hidden = true;
        var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
        var fresh = doc.getElementById("main");
        var main = document.getElementById("main");
        if (fresh && main) main.replaceChildren.apply(main, Array.prototype.slice.call(fresh.childNodes));
      };
      xhr.send(new FormData(attach));
    });
  }

  // The locked pages (unlock, and a new device's enrolment, also when shown
  // at /shown after their form was sent) do not follow the lock: they are
  // where it leads.
  var lockedPage = body.dataset.lockedPage === "1";
  if (box && !lockedPage) poll();
  // The app reopens its WatchReferrals stream every second (so that Lock
  // never waits on it); a change in the moment between two streams has no
  // notice, so live lists also refresh every 20 seconds.
  if (body.dataset.live === "1") window.setInterval(refreshMain, 20000);
})();
