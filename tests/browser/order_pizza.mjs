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

  // Choose a pizza from the original's menu, with two extras.
  await page.check("input[name=sauce][value='Pesto']");
  await page.check("input[name=cheese][value='Gouda']");
  await page.check("input[name=main_topping][value='Chicken']");
  await page.check("input[name=extra_topping][value='Onion']");
  await page.check("input[name=extra_topping][value='Black olives']");
  await page.screenshot({ path: `${shots}/2-menu.png`, fullPage: true });
  const navigations = [];
  page.on("framenavigated", (frame) => { if (frame === page.mainFrame()) navigations.push(frame.url()); });
  // Requests that ask for an order's state or logs instead of having them pushed.
  const asked = [];
  page.on("request", (request) => {
    const path = new URL(request.url()).pathname;
    if (/^\/api\/orders\/[0-9a-f]{8}$/.test(path) || /^\/orders\/[0-9a-f]{8}\/logs$/.test(path)) asked.push(path);
  });
  await page.click("form.menu button[type=submit]");
  await page.waitForURL(/\/orders\/[0-9a-f]{8}$/);
  const orderId = page.url().split("/").pop();
  step(`order ${orderId} placed`);
  assert.match(await page.textContent("td.pizza"), /Extras: Onion, Black olives/);
  // The kitchen takes a few seconds here, so the page first shows the order just placed, with
  // the original's label, and the log panel only its first lines.
  assert.equal(await page.textContent("#status-text"), "Order received and being prepared");
  await page.waitForFunction(() => document.getElementById("logs").textContent.includes("placed"));
  const early = await page.textContent("#logs");
  assert.ok(!early.includes("delivered to customer_id"), `not delivered yet: ${early}`);
  navigations.length = 0;

  // The status and the log panel follow the order to delivered without a reload or a click.
  await page.waitForFunction(
    () => document.getElementById("order")?.dataset.status === "999",
    null, { timeout: 60_000 });
  assert.equal(await page.textContent("#status-text"), "Your pizza was delivered");
  await page.waitForFunction(
    () => document.getElementById("logs").textContent.includes("delivered to customer_id"),
    null, { timeout: 10_000 });
  assert.deepEqual(navigations, [], "the page was not reloaded");
  assert.deepEqual(asked, [], "everything came by push: no request asked for the order or its logs");
  assert.equal(await page.locator(".stage.done").count(), 5, "every stage box is lit");
  step("delivered, and the log panel grew by itself");
  await page.screenshot({ path: `${shots}/3-delivered.png`, fullPage: true });

  // All services' entries, by time, in the original's shape; the newest in view.
  const all = await page.textContent("#logs");
  assert.match(all, /^\(webapp\) INFO \d\d:\d\d:\d\d\.\d{3} - /, "the order begins in the web app");
  for (const line of ["Event successfully produced\n - Topic 'pizza-ordered'", "Event received\n - Topic 'pizza-baked'",
    `Order '${orderId}' is assembled!`, `Order '${orderId}' is baked!`, `Order '${orderId}' status updated: Your pizza was delivered (999)`]) {
    assert.ok(all.includes(line), `the panel shows ${JSON.stringify(line)}`);
  }
  const scrolled = await page.$eval("#logs", (pre) => pre.scrollHeight - pre.clientHeight - pre.scrollTop);
  assert.ok(scrolled < 5, `scrolled to the newest line (${scrolled} px from the end)`);
  const overflow = await page.$eval("#logs", (pre) => pre.scrollWidth - pre.clientWidth);
  assert.ok(overflow <= 1, `long lines wrap inside the panel (${overflow} px wider)`);
  await page.screenshot({ path: `${shots}/4-flow-logs.png`, fullPage: true });

  // Each service's own entries about this order.
  for (const service of ["assemble", "bake", "delivery", "status", "webapp"]) {
    await page.click(`.stage[data-service=${service}]`);
    await page.waitForFunction(() => !document.getElementById("logs").textContent.startsWith("Loading"));
    const text = await page.textContent("#logs");
    assert.ok(text.includes(`'${orderId}'`), `${service} log lines name the order: ${text}`);
    assert.ok(text.split("\n").filter((l) => l.startsWith("(")).every((l) => l.startsWith(`(${service}) `)),
      `only ${service}'s lines: ${text}`);
  }

  // My Orders lists it with its status text.
  await page.click("nav a[href='/orders']");
  await page.waitForURL(base + "/orders");
  const row = page.locator("table.orders tr", { hasText: orderId });
  assert.match(await row.textContent(), /Your pizza was delivered/);
  assert.match(await row.textContent(), /Pesto, Gouda, Chicken/);

  // A second order, followed from My Orders: its row changes by itself.
  await page.goto(base + "/");
  await page.click("form.menu button[type=submit]");
  await page.waitForURL(/\/orders\/[0-9a-f]{8}$/);
  const secondId = page.url().split("/").pop();
  await page.goto(base + "/orders");
  const second = page.locator(`td[data-order-id="${secondId}"]`);
  assert.notEqual(await second.textContent(), "Your pizza was delivered", "the list was loaded before delivery");
  navigations.length = 0;
  await page.waitForFunction((id) => document.querySelector(`td[data-order-id="${id}"]`).textContent === "Your pizza was delivered",
    secondId, { timeout: 60_000 });
  assert.deepEqual(navigations, [], "My Orders changed without a reload");
  step("My Orders followed the second order to delivered");
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
