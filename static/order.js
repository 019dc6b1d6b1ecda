// Follows one order by push: its status from /api/orders/<id>/events and the services' log
// entries about it from /orders/<id>/logs/events, both server-sent events. Where push is not
// available (no EventSource, or the stream fails for good), it asks every second instead.
// Everything from the server is inserted as text.
(function () {
  "use strict";
  const card = document.getElementById("order");
  if (!card) return;
  const orderId = encodeURIComponent(card.dataset.orderId);
  const completed = (card.dataset.completed || "").split(",").map(Number);
  const statusText = document.getElementById("status-text");
  const logs = document.getElementById("logs");
  const autoscroll = document.getElementById("logs-autoscroll");
  const dialog = document.getElementById("service-logs");
  const dialogTitle = document.getElementById("service-logs-title");
  const dialogLines = document.getElementById("service-logs-lines");
  // Which stage boxes light up once the order reaches a status.
  const reached = { 100: ["webapp"], 150: ["webapp", "assemble", "bake"], 200: ["webapp", "assemble"],
    300: ["webapp", "assemble", "bake"], 999: ["webapp", "assemble", "bake", "delivery", "status"] };
  // The log panel keeps following this long after the order is finished, for the last lines.
  const LINGER_MS = 3000;
  // The service whose lines the open dialog shows.
  let service = null;
  let finished = completed.indexOf(Number(card.dataset.status)) >= 0;
  let entries = [];
  let read = false;

  function showStatus(order) {
    statusText.textContent = order.status_str;
    statusText.className = "status status-" + order.status;
    card.dataset.status = String(order.status);
    const done = reached[order.status] || [];
    document.querySelectorAll(".stage").forEach(function (stage) {
      stage.classList.toggle("done", done.indexOf(stage.dataset.service) >= 0);
    });
    if (completed.indexOf(order.status) >= 0) finished = true;
  }

  // The original's words when an order has no lines at all; until the first answer, nothing.
  function shown(lines) {
    if (lines.length) return lines.join("\n");
    return read ? "No logs found for order_id " + card.dataset.orderId : "";
  }

  function showLogs() {
    logs.textContent = shown(entries);
    if (autoscroll.checked) logs.scrollTop = logs.scrollHeight;
    if (service) {
      dialogLines.textContent = shown(entries.filter(function (e) { return e.indexOf("(" + service + ") ") === 0; }));
    }
  }

  // Entries arrive as each service's log grows, not in the order they were written: each is
  // placed by its time. A service may log an event's receipt a millisecond before the sender
  // logs the broker's acknowledgement of it; the sending is still shown first.
  const DAY_MS = 24 * 60 * 60 * 1000;
  function timeOf(entry) {
    const t = /^\(\S+\) \S+ (\d\d):(\d\d):(\d\d)\.(\d{3}) /.exec(entry);
    return t ? ((Number(t[1]) * 60 + Number(t[2])) * 60 + Number(t[3])) * 1000 + Number(t[4]) : 0;
  }
  // Whether time of day a is later than b; an order's entries span minutes, so a gap of more
  // than half a day is midnight in between.
  function later(a, b) {
    return ((a - b + DAY_MS * 1.5) % DAY_MS) - DAY_MS / 2 > 0;
  }
  function eventOf(entry) {
    const e = /^\(\S+\) \S+ \S+ - Event (received|successfully produced)\n - Topic '([^']*)', Partition #(\d+), Offset #(\d+)/.exec(entry);
    return e ? { produced: e[1] !== "received", where: e[2] + "#" + e[3] + "#" + e[4] } : null;
  }

  // An entry may arrive twice (once read with the others, once as it was written): shown once.
  function addEntry(entry) {
    if (entries.indexOf(entry) >= 0) return;
    const time = timeOf(entry);
    let at = entries.length;
    while (at > 0 && later(timeOf(entries[at - 1]), time)) at--;
    const event = eventOf(entry);
    if (event && event.produced) {
      const receipt = entries.findIndex(function (other) {
        const seen = eventOf(other);
        return seen && !seen.produced && seen.where === event.where;
      });
      if (receipt >= 0 && receipt < at) at = receipt;
    }
    entries.splice(at, 0, entry);
  }

  // Asking, where there is no push.
  async function askStatus() {
    try {
      const response = await fetch("/api/orders/" + orderId, { cache: "no-store" });
      if (response.ok) showStatus(await response.json());
    } catch (e) {
      // The server may be restarting; ask again shortly.
    }
    if (!finished) setTimeout(askStatus, 1000);
  }

  async function askLogs(until) {
    try {
      const response = await fetch("/orders/" + orderId + "/logs", { cache: "no-store" });
      if (response.ok) {
        const all = await response.json();
        all.all.forEach(addEntry);
        read = true;
        showLogs();
      }
    } catch (e) {
      // As for the status: asked again shortly.
    }
    if (!finished || Date.now() < until) setTimeout(function () { askLogs(until); }, 1000);
  }

  function followStatus() {
    if (!window.EventSource) return askStatus();
    const stream = new EventSource("/api/orders/" + orderId + "/events");
    stream.onmessage = function (message) {
      showStatus(JSON.parse(message.data));
      if (finished) stream.close();
    };
    // The browser reconnects by itself (sending Last-Event-ID); a stream closed for good (an
    // error answer, or 204 once the order is finished) hands over to asking.
    stream.onerror = function () {
      if (stream.readyState === EventSource.CLOSED && !finished) askStatus();
    };
  }

  function followLogs() {
    if (!window.EventSource) return askLogs(Infinity);
    const stream = new EventSource("/orders/" + orderId + "/logs/events");
    stream.addEventListener("snapshot", function (message) {
      JSON.parse(message.data).all.forEach(addEntry);
      read = true;
      showLogs();
    });
    stream.addEventListener("entry", function (message) {
      addEntry(JSON.parse(message.data));
      showLogs();
    });
    stream.onerror = function () {
      if (stream.readyState === EventSource.CLOSED) askLogs(Infinity);
    };
    // Once the order is finished, its last lines come within moments; then the stream can go.
    const linger = setInterval(function () {
      if (!finished) return;
      clearInterval(linger);
      setTimeout(function () { stream.close(); }, LINGER_MS);
    }, 500);
  }

  function open(stage) {
    service = stage.dataset.service;
    dialogTitle.textContent = stage.dataset.title;
    showLogs();
    dialog.showModal();
  }

  document.querySelectorAll(".stage").forEach(function (stage) {
    stage.addEventListener("click", function () { open(stage); });
  });
  dialog.querySelectorAll("[data-close]").forEach(function (button) {
    button.addEventListener("click", function () { dialog.close(); });
  });
  dialog.addEventListener("close", function () { service = null; });
  showStatus({ status: Number(card.dataset.status), status_str: statusText.textContent });
  followStatus();
  followLogs();
})();
