// The workshop's lesson on the shop floor, in headless Chromium: with bake stopped, orders pile up
// at the oven, and the page says so, in its graph too; with bake back, they are worked off and
// delivered. Then the guide's Stream Lineage questions: a topic's and a program's drill-down, and
// one order's way through the topics.
//   node shop_floor.mjs BASE_URL SCREENSHOT_FOLDER
// It asks its caller to stop and start bake: it prints "stop bake" / "start bake" and waits for
// a line on standard input saying it is done. Exits non-zero with the reason on the first thing
// that is not as expected.
import { launch, stepper } from "./launch.mjs";
import { mkdirSync } from "node:fs";
import { createInterface } from "node:readline";
import assert from "node:assert/strict";

const [base, shots = "screenshots"] = process.argv.slice(2);
if (!base) {
  console.error("usage: node shop_floor.mjs BASE_URL [SCREENSHOT_FOLDER]");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const step = stepper();
const input = createInterface({ input: process.stdin });
const replies = input[Symbol.asyncIterator]();
async function ask(request) {
  console.log(request);
  const { value, done } = await replies.next();
  assert.ok(!done, `no answer to "${request}"`);
  step(value);
}

const ORDERS = 3;
const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 1300, height: 1000 } });
  const floor = await context.newPage();
  const problems = [];
  floor.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  floor.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });
  await floor.goto(base + "/login");
  await floor.fill("#username", "Quattro");
  await floor.click("button[type=submit]");
  await floor.waitForURL(base + "/");

  // Reached from the navigation.
  await floor.click("header nav a:text('Shop Floor')");
  await floor.waitForURL(base + "/shop-floor");
  assert.equal(await floor.title(), "Pizza Demo | Shop Floor");
  const bake = floor.locator('[data-service="bake"]');
  const oven = bake.locator('.waiting[data-topic="pizza-assembled"]');
  // Every program and topic is on the picture, from the shop's wiring.
  assert.deepEqual(await floor.locator(".station h2").evaluateAll((hs) => hs.map((h) => h.firstChild.textContent.trim())),
    ["webapp", "assemble", "bake", "delivery", "status"]);
  assert.deepEqual(await floor.locator("table.topics tbody th").allTextContents(),
    ["pizza-ordered", "pizza-assembled", "pizza-baked", "pizza-delivered", "pizza-pending", "pizza-status"]);
  // The first reading arrives by push: bake up, nothing at the oven.
  await floor.waitForFunction(() => document.getElementById("floor-note").textContent.startsWith("Read from the cluster"));
  await floor.waitForFunction(() => document.querySelector('[data-service="bake"] .state').textContent === "up",
    null, { timeout: 30_000 });
  assert.equal(await oven.locator(".lag").textContent(), "0");
  // The bird's eye view: every program and topic a node, an arrow for every write and read.
  const graph = floor.locator("#floor-graph");
  assert.equal(await graph.locator("a.node").count(), 11);
  assert.equal(await graph.locator("g.edge").count(), 14);
  const intoOven = graph.locator('[id="read:pizza-assembled:bake"]');
  step("shop floor open, its graph drawn, bake up, nothing waiting at the oven");
  await floor.screenshot({ path: `${shots}/floor-1-running.png`, fullPage: true });

  await ask("stop bake");
  await floor.waitForFunction(() => document.querySelector('[data-service="bake"] .state').textContent === "down",
    null, { timeout: 30_000 });
  assert.ok(await bake.evaluate((station) => station.classList.contains("down")), "the station is drawn down");
  step("bake shown down, still on the picture");

  // A customer orders in another tab while the oven is cold.
  const menu = await context.newPage();
  const orderIds = [];
  for (let i = 0; i < ORDERS; i++) {
    await menu.goto(base + "/");
    await menu.check("input[name=sauce][value='Tomato']");
    await menu.check("input[name=cheese][value='Mozzarella']");
    await menu.check("input[name=main_topping][value='Pepperoni']");
    await menu.click("form.menu button[type=submit]");
    await menu.waitForURL(/\/orders\/[0-9a-f]{8}$/);
    orderIds.push(menu.url().split("/").pop());
  }
  step(`${ORDERS} orders placed: ${orderIds.join(", ")}`);

  // They are assembled and wait at the oven, where the shop floor shows them.
  await floor.waitForFunction((n) => Number(document.querySelector(
    '[data-service="bake"] .waiting[data-topic="pizza-assembled"] .lag').textContent) >= n,
  ORDERS, { timeout: 60_000 });
  const waiting = Number(await oven.locator(".lag").textContent());
  assert.equal(await oven.locator(".lag-words").textContent(), "pizzas waiting at the oven");
  assert.equal(await oven.locator(".drain").textContent(), "not moving");
  assert.ok(await oven.evaluate((box) => box.classList.contains("backed-up")));
  const peak = Number(await oven.locator(".spark").getAttribute("data-peak"));
  assert.ok(peak >= ORDERS, `the sparkline rose to ${peak}`);
  assert.equal(await floor.locator('[data-service="bake"] .members p').textContent(), "no member running");
  // The graph shows it too: bake drawn stopped, the arrow into it red with what waits.
  assert.ok((await graph.locator('[id="node:bake"]').getAttribute("class")).includes("state-down"));
  await floor.waitForFunction(() => document.getElementById("read:pizza-assembled:bake")
    .getAttribute("class").includes("backed-up"), null, { timeout: 30_000 });
  assert.match(await intoOven.locator("text").textContent(), /\d+ waiting/);
  step(`the page shows ${waiting} pizzas waiting at the oven`);
  await floor.screenshot({ path: `${shots}/floor-2-bake-down.png`, fullPage: true });

  await ask("start bake");
  await floor.waitForFunction(() => document.querySelector('[data-service="bake"] .state').textContent === "up",
    null, { timeout: 30_000 });
  await floor.waitForFunction(() => document.querySelector(
    '[data-service="bake"] .waiting[data-topic="pizza-assembled"] .drain').textContent === "all caught up",
  null, { timeout: 60_000 });
  assert.equal(await oven.locator(".lag").textContent(), "0");
  await floor.waitForFunction(() => !document.getElementById("read:pizza-assembled:bake")
    .getAttribute("class").includes("backed-up"), null, { timeout: 30_000 });
  step("bake back: the oven's queue drained to zero, in the graph too");

  // Every order reaches the customer.
  for (const orderId of orderIds) {
    await menu.waitForFunction(async (id) => {
      const response = await fetch(`/api/orders/${id}`);
      return response.ok && (await response.json()).status === 999;
    }, orderId, { timeout: 60_000, polling: 500 });
  }
  await floor.waitForFunction(() => document.querySelector(
    '[data-service="delivery"] .waiting[data-topic="pizza-baked"] .lag').textContent === "0");
  step("every order delivered");
  await floor.screenshot({ path: `${shots}/floor-3-drained.png`, fullPage: true });

  // Drill down: a topic, from its node.
  await graph.locator('[id="node:pizza-baked"]').click();
  await floor.waitForURL(base + "/shop-floor/topics/pizza-baked");
  assert.equal(await floor.title(), "Pizza Demo | Shop Floor | pizza-baked");
  const fields = await floor.locator("table.contract tbody tr td:first-child").allTextContents();
  assert.deepEqual(fields, ["status", "timestamp"]);
  const events = floor.locator("table.events tbody tr.own");
  assert.ok(await events.count() >= ORDERS, "this customer's baked pizzas among the latest events");
  const keys = await events.locator("td:nth-child(4)").allTextContents();
  for (const id of orderIds) assert.ok(keys.includes(id), `${id} among ${keys}`);
  await floor.waitForFunction(() => document.querySelector('#drill-topic table.readers tr[data-program="delivery"] .waiting')
    .textContent === "0", null, { timeout: 30_000 });
  step("the topic's drill-down: contract, latest events, readers");
  await floor.screenshot({ path: `${shots}/floor-4-topic.png`, fullPage: true });

  // A program, from the topic's page.
  await floor.click('#drill-topic table.readers a:text("delivery")');
  await floor.waitForURL(base + "/shop-floor/programs/delivery");
  await floor.waitForFunction(() => document.querySelector("#drill-program h1 .state").textContent === "up",
    null, { timeout: 30_000 });
  await floor.waitForFunction(() => document.querySelector("#drill-program .metrics-url a") !== null,
    null, { timeout: 30_000 });
  assert.match(await floor.locator("#drill-program .members p").textContent(), /^1 member/);
  step("the program's drill-down: up, one member, its metrics");
  await floor.screenshot({ path: `${shots}/floor-5-program.png`, fullPage: true });

  // One order's way through the topics, from its page.
  await menu.goto(base + "/orders/" + orderIds[0]);
  await menu.click("a:text(\"See this order's way through the topics\")");
  await menu.waitForURL(base + `/orders/${orderIds[0]}/lineage`);
  const rows = menu.locator("table.lineage-hops tbody tr");
  const topics = await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.topic));
  assert.equal(topics[0], "pizza-ordered", `the order comes first: ${topics}`);
  for (const topic of ["pizza-assembled", "pizza-baked", "pizza-delivered", "pizza-status"]) {
    assert.ok(topics.includes(topic), `${topic} in ${topics}`);
  }
  const offsets = await rows.evaluateAll((trs) => trs.map((tr) => Number(tr.dataset.offset)));
  assert.ok(offsets.every((o) => Number.isInteger(o) && o >= 0), `offsets ${offsets}`);
  const writers = await rows.locator("td:nth-child(6)").allTextContents();
  assert.ok(writers.includes("bake") && writers.includes("delivery"), `writers ${writers}`);
  step(`the lineage of ${orderIds[0]}: ${topics.length} events, first on pizza-ordered`);
  await menu.screenshot({ path: `${shots}/floor-6-lineage.png`, fullPage: true });

  assert.deepEqual(problems, [], "no script errors or CSP violations");
  console.log(`ok: ${ORDERS} orders waited at the oven and were delivered; screenshots in ${shots}/`);
} finally {
  await browser.close();
  // Standard input would keep the script running.
  input.close();
}
