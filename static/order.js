// Follows one order: asks the JSON endpoint for its status until it is finished, and shows the
// services' log lines for the flow panel. Everything from the server is inserted as text.
(function () {
  "use strict";
  const card = document.getElementById("order");
  if (!card) return;
  const orderId = card.dataset.orderId;
  const completed = (card.dataset.completed || "").split(",").map(Number);
  const statusText = document.getElementById("status-text");
  const statusCode = document.getElementById("status-code");
  // Which stage boxes light up once the order reaches a status.
  const reached = { 100: ["webapp"], 150: ["webapp", "assemble", "bake"], 200: ["webapp", "assemble"],
    300: ["webapp", "assemble", "bake"], 999: ["webapp", "assemble", "bake", "delivery", "status"] };

  function showStatus(order) {
    statusText.textContent = order.status_str;
    statusText.className = "status-" + order.status;
    statusCode.textContent = String(order.status);
    const done = reached[order.status] || [];
    document.querySelectorAll(".stage").forEach(function (stage) {
      stage.classList.toggle("done", done.indexOf(stage.dataset.service) >= 0);
    });
  }

  async function poll() {
    try {
      const response = await fetch("/api/orders/" + encodeURIComponent(orderId), { cache: "no-store" });
      if (response.ok) {
        const order = await response.json();
        showStatus(order);
        if (completed.indexOf(order.status) >= 0) return;
      }
    } catch (e) {
      // The server may be restarting; try again shortly.
    }
    setTimeout(poll, 1000);
  }

  async function showLogs(service) {
    const title = document.getElementById("logs-title");
    const pre = document.getElementById("logs");
    title.textContent = service === "all" ? "Log lines of all services, by time" : "Log lines of " + service;
    pre.textContent = "Loading…";
    try {
      const response = await fetch("/orders/" + encodeURIComponent(orderId) + "/logs", { cache: "no-store" });
      const logs = await response.json();
      let lines = logs.all;
      if (service !== "all") {
        const entry = logs.services.find(function (s) { return s.service === service; });
        lines = entry ? entry.lines : [];
      }
      pre.textContent = lines.length ? lines.join("\n") : "No lines about this order yet.";
    } catch (e) {
      pre.textContent = "Could not read the logs.";
    }
  }

  document.querySelectorAll("[data-service]").forEach(function (element) {
    element.addEventListener("click", function () { showLogs(element.dataset.service); });
    element.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); showLogs(element.dataset.service); }
    });
  });
  poll();
})();
