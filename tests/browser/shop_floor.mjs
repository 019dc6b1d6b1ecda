// The workshop's lesson on the shop floor, in headless Chromium: with bake stopped, orders pile up
// at the oven, and the page says so; with bake back, they are worked off and delivered.
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
  step("shop floor open, bake up, nothing waiting at the oven");
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
  step(`the page shows ${waiting} pizzas waiting at the oven`);
  await floor.screenshot({ path: `${shots}/floor-2-bake-down.png`, fullPage: true });

  await ask("start bake");
  await floor.waitForFunction(() => document.querySelector('[data-service="bake"] .state').textContent === "up",
    null, { timeout: 30_000 });
  await floor.waitForFunction(() => document.querySelector(
    '[data-service="bake"] .waiting[data-topic="pizza-assembled"] .lag').textContent === "0",
  null, { timeout: 60_000 });
  assert.equal(await oven.locator(".drain").textContent(), "all caught up");
  step("bake back: the oven's queue drained to zero");

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

  assert.deepEqual(problems, [], "no script errors or CSP violations");
  console.log(`ok: ${ORDERS} orders waited at the oven and were delivered; screenshots in ${shots}/`);
} finally {
  await browser.close();
  // Standard input would keep the script running.
  input.close();
}
