// The console's only script: it fetches the screen again when the health stream says
// something changed (at most a few times a second), ticks the countdowns, refreshes the
// thumbnails, sends the operator's verdicts with the CSRF token, and reconnects on its own.
"use strict";

(function () {
  const screen = document.getElementById("screen");
  const conn = document.getElementById("conn");
  const csrfMeta = document.querySelector('meta[name="csrf"]');
  const csrf = csrfMeta ? csrfMeta.content : "";

  function connected(up) {
    if (!conn) return;
    conn.className = up ? "conn live" : "conn down";
    conn.textContent = up ? "● live" : "○ reconnecting…";
  }

  let pending = null;
  let inflight = false;
  let again = false;
  async function refresh() {
    pending = null;
    if (!screen) return;
    if (inflight) { again = true; return; }
    inflight = true;
    try {
      const r = await fetch("/console/screen", { credentials: "same-origin", cache: "no-store" });
      if (r.status === 401) { location.href = "/login"; return; }
      if (r.ok) {
        redraw(await r.text());
        connected(true);
        tick();
      }
    } catch (e) {
      connected(false);
    } finally {
      inflight = false;
      if (again) { again = false; soon(); }
    }
  }
  // Only the sections that changed are replaced: a button an operator is about to press is
  // not swapped from under the pointer because a reading elsewhere moved.
  function redraw(html) {
    const next = document.createElement("div");
    next.innerHTML = html;
    const wanted = Array.from(next.children);
    const ids = new Set(wanted.map(function (el) { return el.id; }));
    Array.from(screen.children).forEach(function (el) {
      if (!ids.has(el.id)) el.remove();
    });
    let before = null;
    wanted.forEach(function (el) {
      const old = document.getElementById(el.id);
      if (old && old.parentNode === screen) {
        if (old.outerHTML !== el.outerHTML) old.replaceWith(el);
        before = el.isConnected ? el : old;
      } else {
        if (before) before.after(el); else screen.prepend(el);
        before = el;
      }
    });
  }

  function soon() {
    if (pending === null) pending = setTimeout(refresh, 150);
  }

  function fmt(s) {
    if (s <= 0) return "now";
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m " + String(s % 60).padStart(2, "0") + "s";
    return Math.floor(s / 3600) + "h " + String(Math.floor((s % 3600) / 60)).padStart(2, "0") + "m";
  }
  function tick() {
    const now = Date.now();
    document.querySelectorAll(".countdown").forEach(function (el) {
      const s = Math.round((Date.parse(el.dataset.at) - now) / 1000);
      el.textContent = el.dataset.label + " " + fmt(s);
    });
  }

  let source = null;
  function listen() {
    if (!screen) return;
    source = new EventSource("/console/stream");
    source.onopen = function () { connected(true); soon(); };
    ["signal", "alert", "action"].forEach(function (kind) {
      source.addEventListener(kind, soon);
    });
    source.onerror = function () {
      connected(false);
      // The browser retries on its own; a closed stream (the daemon restarted) is opened anew.
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(listen, 1000);
      }
    };
  }

  document.addEventListener("click", async function (ev) {
    const b = ev.target.closest("button.verdict");
    if (b) {
      b.disabled = true;
      const r = await fetch("/console/actions/" + encodeURIComponent(b.dataset.id) + "/" + b.dataset.verdict, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf },
      });
      if (!r.ok) {
        alert(await r.text());
        b.disabled = false;
      }
      soon();
      return;
    }
    const f = ev.target.closest("button.failover");
    if (f) {
      if (!confirm("Fail the edge of " + f.dataset.event + " in " + f.dataset.region + " over to pipeline " + f.dataset.pipeline + "?")) return;
      f.disabled = true;
      const r = await fetch("/console/failover/" + [f.dataset.event, f.dataset.region, f.dataset.pipeline].map(encodeURIComponent).join("/"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf },
      });
      if (!r.ok) alert(await r.text());
      f.disabled = false;
      soon();
      return;
    }
    if (ev.target.id === "logout") {
      await fetch("/logout", { method: "POST", credentials: "same-origin" });
      location.href = "/login";
    }
  });

  setInterval(tick, 1000);
  // Countdowns cross phases and thumbnails age: redraw now and then even when all is quiet.
  setInterval(function () {
    refresh();
    document.querySelectorAll("img.thumb").forEach(function (img) {
      img.src = img.dataset.src + "?t=" + Date.now();
    });
  }, 5000);
  listen();
  tick();
})();
