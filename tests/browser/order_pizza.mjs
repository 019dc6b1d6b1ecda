// Orders a pizza the way a person does, in headless Chromium, and checks what they would see:
//   node order_pizza.mjs BASE_URL SCREENSHOT_FOLDER
// Exits non-zero with the reason on the first thing that is not as expected.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import assert from "node:assert/strict";

const [base, shots = "screenshots"] = process.argv.slice(2);
if (!base) {
  console.error("usage: node order_pizza.mjs BASE_URL [SCREENSHOT_FOLDER]");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const started = Date.now();
const step = (what) => console.log(`${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  // Root in a container has no sandbox; the rest keeps Chromium off the (closed) network.
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const problems = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });

  // Any page without a session leads to the login.
  await page.goto(base + "/");
  assert.match(page.url(), /\/login$/);
  step("login page");
  await page.screenshot({ path: `${shots}/1-login.png`, fullPage: true });
  await page.fill("#username", "Margherita");
  await page.click("button[type=submit]");
  await page.waitForURL(base + "/");
  assert.match(await page.textContent("header"), /Hi, Margherita/);

  // Choose a pizza with two extras through the form.
  await page.check("input[name=sauce][value='Pesto']");
  await page.check("input[name=cheese][value='Gorgonzola']");
  await page.check("input[name=main_topping][value='Mushroom']");
  await page.check("input[name=extra_topping][value='Rocket']");
  await page.check("input[name=extra_topping][value='Black olives']");
  await page.screenshot({ path: `${shots}/2-menu.png`, fullPage: true });
  await page.click("form.menu button[type=submit]");
  await page.waitForURL(/\/orders\/[0-9a-f]{8}$/);
  const orderId = page.url().split("/").pop();
  step(`order ${orderId} placed`);
  assert.match(await page.textContent("dl.pizza"), /Black olives, Rocket/);

  // The status reaches delivered without a reload.
  const navigations = [];
  page.on("framenavigated", (frame) => { if (frame === page.mainFrame()) navigations.push(frame.url()); });
  await page.waitForFunction(
    () => document.getElementById("status-code")?.textContent === "999",
    null, { timeout: 60_000 });
  assert.equal(await page.textContent("#status-text"), "Your pizza was delivered");
  assert.deepEqual(navigations, [], "the page was not reloaded");
  assert.equal(await page.locator(".stage.done").count(), 5, "every stage box is lit");
  step("delivered");
  await page.screenshot({ path: `${shots}/3-delivered.png`, fullPage: true });

  // The flow panel opens each service's log lines about this order.
  for (const service of ["assemble", "bake", "delivery", "status", "webapp"]) {
    await page.click(`.stage[data-service=${service}]`);
    await page.waitForFunction(() => !document.getElementById("logs").textContent.startsWith("Loading"));
    const text = await page.textContent("#logs");
    assert.ok(text.includes(`'${orderId}'`), `${service} log lines name the order: ${text}`);
  }
  await page.click("button[data-service=all]");
  await page.waitForFunction(() => document.getElementById("logs").textContent.includes("(delivery)"));
  const all = (await page.textContent("#logs")).split("\n");
  assert.ok(all.length >= 8, `all services' lines, interleaved: ${all.length}`);
  assert.ok(all[0].startsWith("(webapp)"), `the order begins in the web app: ${all[0]}`);
  await page.screenshot({ path: `${shots}/4-flow-logs.png`, fullPage: true });

  // My Orders lists it with its status text.
  await page.click("nav a[href='/orders']");
  await page.waitForURL(base + "/orders");
  const row = page.locator("table.orders tr", { hasText: orderId });
  assert.match(await row.textContent(), /Your pizza was delivered/);
  await page.screenshot({ path: `${shots}/5-my-orders.png`, fullPage: true });

  // The search box jumps to an order.
  await page.fill("input[name=order_id]", orderId);
  await page.click("form.search button");
  await page.waitForURL(base + `/orders/${orderId}`);

  assert.deepEqual(problems, [], "no script errors or CSP violations");
  console.log(`ok: order ${orderId} delivered; screenshots in ${shots}/`);
} finally {
  await browser.close();
}
