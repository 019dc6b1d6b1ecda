// The shop floor and its drill-downs, kept current by push (/shop-floor/events): each message is
// the whole floor as JSON (see crates/webapp/src/shop_floor/model.rs), written into the graph,
// the stations, and a topic's or a program's page, whichever the page drew.
(function () {
  "use strict";
  const drill = document.querySelector("#drill-topic, #drill-program");
  if (!window.EventSource || !(document.getElementById("floor") || drill)) return;

  const note = document.getElementById("floor-note");
  const text = (parent, selector, value) => {
    const element = parent.querySelector(selector);
    if (element) element.textContent = value;
  };
  const cell = (row, value) => {
    const td = document.createElement("td");
    td.textContent = value;
    row.appendChild(td);
  };
  const rate = (perSecond) => perSecond === null || perSecond === undefined ? "…" : perSecond.toFixed(1) + "/s";

  function sparkline(svg, values) {
    const line = svg.querySelector("polyline");
    if (!line || values.length === 0) return;
    const top = Math.max(1, ...values);
    const step = values.length > 1 ? 150 / (values.length - 1) : 0;
    line.setAttribute("points", values.map((v, i) =>
      (i * step).toFixed(1) + "," + (29 - (v / top) * 28).toFixed(1)).join(" "));
    svg.setAttribute("data-peak", String(top));
  }

  function partitions(tbody, rows) {
    tbody.replaceChildren();
    for (const p of rows) {
      const row = document.createElement("tr");
      cell(row, String(p.partition));
      cell(row, p.committed === null ? "nothing committed yet" : String(p.committed));
      cell(row, String(p.end));
      cell(row, String(p.lag));
      tbody.appendChild(row);
    }
  }

  function members(box, list) {
    box.replaceChildren();
    const title = document.createElement("p");
    if (list === null) {
      title.textContent = "members: the cluster does not describe this group";
      box.appendChild(title);
      return;
    }
    title.textContent = list.length === 0 ? "no member running" :
      list.length + (list.length === 1 ? " member" : " members");
    box.appendChild(title);
    const ul = document.createElement("ul");
    for (const m of list) {
      const li = document.createElement("li");
      const held = m.partitions === null ? "partitions not described by the cluster" :
        m.partitions.length === 0 ? "holds no partition" : "holds " + m.partitions.join(", ");
      li.textContent = m.client_id + " on " + m.host + ": " + held;
      ul.appendChild(li);
    }
    box.appendChild(ul);
  }

  const breaks = (list) => {
    const total = list.reduce((sum, [, n]) => sum + n, 0);
    return total === 0 ? "none" : total + " (" + list.map(([by, n]) => n + " caught by the " + by).join(", ") + ")";
  };

  function graph(g) {
    for (const edge of g.edges) {
      const drawn = document.getElementById(edge.id);
      if (!drawn) continue;
      drawn.setAttribute("class", ("edge edge-" + edge.kind + " " + edge.state).trim());
      text(drawn, "text", edge.label);
    }
    for (const node of g.nodes) {
      const drawn = document.getElementById("node:" + node.id);
      if (drawn) drawn.setAttribute("class", "node node-" + node.kind + " state-" + node.state);
    }
  }

  function topicPage(floor, page) {
    const name = page.dataset.topic;
    const topic = floor.topics.find((t) => t.name === name);
    if (!topic) return;
    text(page, "p .rate", rate(topic.rate));
    text(page, ".breaks", breaks(topic.contract_breaks));
    for (const p of topic.partitions) {
      const row = page.querySelector('table.partitions tr[data-partition="' + p.partition + '"]');
      if (!row) continue;
      text(row, ".end", String(p.end));
      text(row, ".rate", rate(p.rate));
    }
    for (const service of floor.services) {
      const waiting = service.reads.find((w) => w.topic === name);
      const row = page.querySelector('table.readers tr[data-program="' + CSS.escape(service.name) + '"]');
      if (!waiting || !row) continue;
      text(row, ".waiting", String(waiting.waiting));
      text(row, ".in-hand", waiting.in_hand === null ? "not known on this host" : String(waiting.in_hand));
      text(row, ".rate", rate(waiting.rate));
    }
  }

  function programPage(floor, page) {
    const service = floor.services.find((s) => s.name === page.dataset.program);
    if (!service) return;
    const state = page.querySelector("h1 .state");
    state.textContent = service.state;
    state.className = "state state-" + service.state;
    for (const waiting of service.reads) {
      const box = page.querySelector('.waiting[data-topic="' + CSS.escape(waiting.topic) + '"]');
      if (!box) continue;
      box.classList.toggle("backed-up", waiting.waiting > 0 && service.state === "down");
      text(box, ".words", waiting.words);
      text(box, ".drain", waiting.drain);
      partitions(box.querySelector(".partitions tbody"), waiting.partitions);
    }
    if (service.group) members(page.querySelector(".members"), service.members);
    const url = page.querySelector(".metrics-url");
    url.replaceChildren();
    if (service.metrics_url) {
      const link = document.createElement("a");
      link.href = service.metrics_url;
      link.textContent = service.metrics_url;
      url.appendChild(link);
    } else {
      url.textContent = "not said in its log on this host (off, or on another host)";
    }
  }

  function show(floor) {
    if (drill) {
      if (drill.id === "drill-topic") topicPage(floor, drill);
      else programPage(floor, drill);
      return;
    }
    graph(floor.graph);
    for (const service of floor.services) {
      const station = document.querySelector('[data-service="' + CSS.escape(service.name) + '"]');
      if (!station) continue;
      station.classList.toggle("down", service.state === "down");
      const state = station.querySelector(".state");
      state.textContent = service.state;
      state.className = "state state-" + service.state;
      for (const waiting of service.reads) {
        const box = station.querySelector('.waiting[data-topic="' + CSS.escape(waiting.topic) + '"]');
        if (!box) continue;
        box.classList.toggle("backed-up", waiting.waiting > 0);
        text(box, ".rate", "handled " + rate(waiting.rate));
        const count = box.querySelector(".lag");
        count.textContent = String(waiting.waiting);
        count.classList.toggle("zero", waiting.waiting === 0);
        text(box, ".lag-words", waiting.words.replace(/^\d+ /, ""));
        text(box, ".drain", waiting.drain);
        sparkline(box.querySelector(".spark"), waiting.history);
        partitions(box.querySelector(".partitions tbody"), waiting.partitions);
      }
      if (service.group) members(station.querySelector(".members"), service.members);
    }
    for (const topic of floor.topics) {
      const row = document.querySelector('table.topics tr[data-topic="' + CSS.escape(topic.name) + '"]');
      if (!row) continue;
      text(row, ".rate", rate(topic.rate));
      text(row, ".breaks", breaks(topic.contract_breaks));
    }
    const dead = floor.dead_letters.by_source;
    const total = dead.reduce((sum, [, n]) => sum + n, 0);
    document.getElementById("dead-letters").textContent = total === 0 ? "none" :
      total + " (" + dead.map(([source, n]) => n + " from " + source).join(", ") + ")";
    document.getElementById("stuck-orders").textContent =
      floor.stuck_orders === null ? "not known" : String(floor.stuck_orders);
    const problems = document.getElementById("floor-problems");
    problems.replaceChildren();
    for (const problem of floor.problems) {
      const li = document.createElement("li");
      li.textContent = problem;
      problems.appendChild(li);
    }
    if (note) note.textContent = "Read from the cluster at " + new Date().toLocaleTimeString() + ".";
  }

  const stream = new EventSource("/shop-floor/events");
  stream.onmessage = (message) => show(JSON.parse(message.data));
  stream.onerror = () => { if (note) note.textContent = "Connection to the shop lost; trying again…"; };
})();
