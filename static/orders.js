// Keeps "My orders" current: each status change of the customer's orders arrives by push
// (/api/orders/events) and replaces the text in its row. Without push the page stays as loaded.
(function () {
  "use strict";
  if (!window.EventSource || !document.querySelector("table.orders")) return;
  const stream = new EventSource("/api/orders/events");
  stream.onmessage = function (message) {
    const change = JSON.parse(message.data);
    const cell = document.querySelector('td[data-order-id="' + CSS.escape(change.order_id) + '"]');
    if (!cell) return;
    cell.textContent = change.status_str;
    cell.className = "status-" + change.status;
  };
})();
