// Follows one order: asks the JSON endpoint for its status until it is finished, and keeps the
// log panel up to date with the services' log lines about it, scrolled to the newest while
// "Logs auto scroll" is ticked. Everything from the server is inserted as text.
(function () {
  "use strict";
  const card = document.getElementById("order");
  if (!card) return;
  const orderId = card.dataset.orderId;
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
  let finishedAt = null;

  function showStatus(order) {
    statusText.textContent = order.status_str;
    statusText.className = "status status-" + order.status;
    card.dataset.status = String(order.status);
    const done = reached[order.status] || [];
    document.querySelectorAll(".stage").forEach(function (stage) {
      stage.classList.toggle("done", done.indexOf(stage.dataset.service) >= 0);
    });
    if (completed.indexOf(order.status) >= 0 && finishedAt === null) finishedAt = Date.now();
  }

  async function followStatus() {
    try {
      const response = await fetch("/api/orders/" + encodeURIComponent(orderId), { cache: "no-store" });
      if (response.ok) showStatus(await response.json());
    } catch (e) {
      // The server may be restarting; try again shortly.
    }
    if (finishedAt === null) setTimeout(followStatus, 1000);
  }

  async function refreshLogs() {
    try {
      const response = await fetch("/orders/" + encodeURIComponent(orderId) + "/logs", { cache: "no-store" });
      const all = await response.json();
      let lines = all.all;
      if (service !== "all") {
        const entry = all.services.find(function (s) { return s.service === service; });
        lines = entry ? entry.lines : [];
      }
      const text = lines.length ? lines.join("\n") : "No lines about this order yet.";
      if (text !== logs.textContent) {
        logs.textContent = text;
        if (autoscroll.checked) logs.scrollTop = logs.scrollHeight;
      }
    } catch (e) {
      logs.textContent = "Could not read the logs.";
    }
  }

  async function followLogs() {
    await refreshLogs();
    if (finishedAt === null || Date.now() - finishedAt < LINGER_MS) setTimeout(followLogs, 1000);
  }

  function pick(name) {
    service = name;
    logsTitle.textContent = name === "all" ? "Log lines of all services, by time" : "Log lines of " + name;
    logs.textContent = "Loading…";
    refreshLogs();
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
