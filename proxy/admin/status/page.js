// Passeur's status page: refreshes the numbers every 2 s from /status.json, draws each node's
// sparklines (request rate and p99, 15 minutes) from /status/history.json, and asks for
// confirmation of the buttons in a dialog instead of a second page. No dependencies.
"use strict";
(() => {
  const up = document.getElementById("updated");
  if (!up) return;
  const layout = up.dataset.layout;
  const msg = document.getElementById("message");
  let seq = -1, hist = null, points = 90, busy = false;

  const fmt = (v) => v == null ? "\u2013" : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  const age = (s) => s < 120 ? Math.round(s) + " s ago" : s < 7200 ? Math.floor(s / 60) + " min ago"
    : Math.floor(s / 3600) + " h ago";
  const utc = (t) => new Date(t * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
  function set(td, text, cls) {
    if (!td) return;
    if (td.textContent !== text) td.textContent = text;
    if (cls !== undefined && td.className !== cls) td.className = cls;
  }
  async function get(url) {
    const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (r.status === 401) { location.reload(); throw new Error("logged out"); }
    if (!r.ok) throw new Error("HTTP " + r.status);
    return r.json();
  }

  function render(s) {
    if (s.layout !== layout) { location.reload(); return; }
    up.textContent = utc(s.time);
    up.classList.remove("stale");
    s.listeners.forEach((l, i) => {
      const row = document.getElementById("l" + i);
      if (!row) return;
      const c = row.cells;
      set(c[2], String(l.connections)); set(c[3], String(l.accepted));
      set(c[4], String(l.requests)); set(c[5], fmt(l.rate));
    });
    s.pools.forEach((p, pi) => {
      set(document.getElementById("u" + pi), String(p.usable));
      p.nodes.forEach((n, ni) => {
        const row = document.getElementById("n" + pi + "-" + ni);
        if (!row) return;
        const c = row.cells;  // n: name health admin weight in_flight connections check check_age requests rate p50 p99 mail_users
        set(c[1], n[1], "h-" + n[1]); set(c[2], n[2], "a-" + n[2]);
        set(c[3], String(n[3]), "num"); set(c[4], String(n[4]), "num");
        set(c[5], String(n[5]) + (n[12] == null ? "" : " \u00b7 " + n[12] + " users"), "num");
        set(c[6], n[6] ? n[6] + " " + age(n[7]) : "\u2013", "c-" + (n[6] || "none"));
        set(c[7], fmt(n[9]), "num"); set(c[8], fmt(n[10]), "num"); set(c[9], fmt(n[11]), "num");
      });
    });
    const r = s.reload;
    set(document.getElementById("reload-result"), r.ok ? "applied" : "rejected", r.ok ? "ok" : "bad");
    set(document.getElementById("reload-at"), utc(r.at));
    set(document.getElementById("reload-message"), r.message);
    set(document.getElementById("reload-counts"), r.successes + " applied, " + r.failures + " rejected");
    set(document.getElementById("reload-kind"), r.successes + r.failures > 0 ? "reload" : "load (the start)");
    return s.seq;
  }

  function line(values, w, h) {
    let max = 0;
    for (const v of values) if (v != null && v > max) max = v;
    const step = w / (points - 1), start = points - values.length;
    let d = "", pen = false;
    values.forEach((v, i) => {
      if (v == null) { pen = false; return; }
      const x = ((start + i) * step).toFixed(1), y = (h - 1 - (max ? v / max : 0) * (h - 2)).toFixed(1);
      d += (pen ? "L" : "M") + x + " " + y;
      pen = true;
    });
    return { d, max };
  }
  function draw(pi, ni, h) {
    const row = document.getElementById("n" + pi + "-" + ni);
    if (!row) return;
    const rate = line(h[0], 90, 14), p99 = line(h[1], 90, 14);
    row.cells[10].innerHTML =
      '<svg viewBox="0 0 90 30" width="90" height="30" role="img"><title>last 15 min: req/s up to ' +
      fmt(rate.max) + ", p99 up to " + fmt(p99.max) + ' ms</title><path class="r" d="' + rate.d +
      '"/><path class="p" transform="translate(0 15)" d="' + p99.d + '"/></svg>';
  }
  async function history() {
    const h = await get("/status/history.json?after=" + (hist ? seq : 0));
    if (h.layout !== layout) { location.reload(); return; }
    points = h.points;
    if (!hist) hist = h.pools.map((p) => p.map(() => [[], []]));
    h.pools.forEach((p, pi) => p.forEach((n, ni) => {
      const mine = hist[pi] && hist[pi][ni];
      if (!mine) return;
      for (let k = 0; k < 2; k++) {
        mine[k].push(...n[k]);
        if (mine[k].length > points) mine[k].splice(0, mine[k].length - points);
      }
      draw(pi, ni, mine);
    }));
    seq = h.seq;
  }

  async function tick() {
    if (busy || document.hidden) return;
    busy = true;
    try {
      const s = await get("/status.json");
      const now = render(s);
      if (now !== undefined && now !== seq) await history();
    } catch (e) {
      up.classList.add("stale");
      up.title = String(e);
    } finally {
      busy = false;
    }
  }

  const verb = { drain: "Drain", ready: "Make ready", maintenance: "Put in maintenance", reload: "Reload" };
  document.addEventListener("submit", async (e) => {
    const f = e.target, b = e.submitter;
    if (!f.classList.contains("act") || !b) return;
    e.preventDefault();
    const a = b.value, body = new URLSearchParams(new FormData(f));
    const q = a === "reload" ? "Reload the configuration file?"
      : verb[a] + ' node "' + body.get("node") + '" in pool "' + body.get("pool") + '"?';
    if (!window.confirm(q)) return;
    body.set("action", a);
    body.set("confirm", "yes");
    try {
      const r = await fetch("/status/action", { method: "POST", credentials: "same-origin",
        headers: { Accept: "application/json" }, body });
      const j = await r.json();
      msg.textContent = j.message || j.error || "HTTP " + r.status;
      msg.className = r.ok && j.ok ? "ok" : "bad";
    } catch (err) {
      msg.textContent = String(err);
      msg.className = "bad";
    }
    tick();
  });

  tick();
  setInterval(tick, 2000);
  document.addEventListener("visibilitychange", tick);
})();
