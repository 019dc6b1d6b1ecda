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
  const logsTitle = document.getElementById("logs-title");
  const logs = document.getElementById("logs");
  const autoscroll = document.getElementById("logs-autoscroll");
  // Which stage boxes light up once the order reaches a status.
  const reached = { 100: ["webapp"], 150: ["webapp", "assemble", "bake"], 200: ["webapp", "assemble"],
    300: ["webapp", "assemble", "bake"], 999: ["webapp", "assemble", "bake", "delivery", "status"] };
  // The log panel keeps following this long after the order is finished, for the last lines.
  const LINGER_MS = 3000;
  let service = "all";
  let finished = completed.indexOf(Number(card.dataset.status)) >= 0;
  let entries = [];

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

  function showLogs() {
    const shown = service === "all" ? entries : entries.filter(function (e) { return e.indexOf("(" + service + ") ") === 0; });
    logs.textContent = shown.length ? shown.join("\n") : "No lines about this order yet.";
    if (autoscroll.checked) logs.scrollTop = logs.scrollHeight;
  }

  // An entry may arrive twice (once read with the others, once as it was written): shown once.
  function addEntry(entry) {
    if (entries.indexOf(entry) < 0) entries.push(entry);
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
        showLogs();
      }
    } catch (e) {
      logs.textContent = "Could not read the logs.";
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

  function pick(name) {
    service = name;
    logsTitle.textContent = name === "all" ? "Log lines of all services, by time" : "Log lines of " + name;
    showLogs();
  }

  document.querySelectorAll("[data-service]").forEach(function (element) {
    element.addEventListener("click", function () { pick(element.dataset.service); });
    element.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); pick(element.dataset.service); }
    });
  });
  showStatus({ status: Number(card.dataset.status), status_str: statusText.textContent });
  followStatus();
  followLogs();
})();
