// Orders a pizza the way a person does, in headless Chromium, and checks what they would see:
//   node order_pizza.mjs BASE_URL SCREENSHOT_FOLDER
// Exits non-zero with the reason on the first thing that is not as expected.
import { launch, stepper } from "./launch.mjs";
import { mkdirSync } from "node:fs";
import assert from "node:assert/strict";

const [base, shots = "screenshots"] = process.argv.slice(2);
if (!base) {
  console.error("usage: node order_pizza.mjs BASE_URL [SCREENSHOT_FOLDER]");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const step = stepper();
const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const problems = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });

  // Any page without a session leads to the login, in the original's words.
  await page.goto(base + "/");
  assert.match(page.url(), /\/login$/);
  assert.equal(await page.title(), "Pizza Demo | Login");
  assert.equal(await page.textContent("label[for=username]"), "Username:");
  assert.equal(await page.textContent("form button[type=submit]"), "Login");
  step("login page");
  await page.screenshot({ path: `${shots}/1-login.png`, fullPage: true });
  await page.fill("#username", "Margherita");
  await page.click("button[type=submit]");
  await page.waitForURL(base + "/");

  // The original's navigation, menu and footer.
  assert.equal(await page.title(), "Pizza Demo | Menu");
  assert.equal((await page.textContent("header summary")).trim(), "Margherita");
  // The original's two, then the shop floor this port adds.
  assert.deepEqual(await page.locator("header nav a").allTextContents(), ["View Menu", "My Orders", "Shop Floor"]);
  assert.equal(await page.getAttribute("input[name=order_id]", "placeholder"), "Order");
  assert.equal(await page.textContent("form.search button"), "Search");
  await page.click("header summary");
  assert.deepEqual(await page.locator("details.user a, details.user button").allTextContents(),
    ["Demo Architecture", "Demo Service Flow", "Logout"]);
  for (const picture of await page.locator("details.user a[target=_blank]").evaluateAll((as) => as.map((a) => a.href))) {
    const response = await page.request.get(picture);
    assert.equal(response.status(), 200, picture);
    assert.equal(response.headers()["content-type"], "image/svg+xml", picture);
  }
  await page.click("header summary");
  assert.equal((await page.textContent("footer")).trim(), "Order your pizza with Confluent, powered by Confluent Cloud©");
  assert.equal(await page.textContent("h1"), "Customise your pizza");
  assert.deepEqual(await page.locator("form.menu legend").allTextContents(),
    ["Sauce:", "Cheese:", "Main topping:", "Extra toppings:"]);
  assert.deepEqual(await page.locator("form.menu button").allTextContents(), ["Submit your order", "Clear form"]);
  assert.equal(await page.locator("form.menu input:checked").count(), 0, "nothing is chosen at first");

  // The browser asks for the missing choices before anything is sent, as in the original.
  await page.click("form.menu button[type=submit]");
  assert.equal(page.url(), base + "/", "an order with nothing chosen is not sent");

  // Past the browser's check (as a script could send it), the shop refuses the order itself and
  // shows the menu again, naming the missing choice and keeping the others.
  await page.check("input[name=sauce][value='Tomato']");
  await page.check("input[name=extra_topping][value='Onion']");
  await page.$$eval("form.menu input", (inputs) => inputs.forEach((input) => { input.required = false; }));
  const [refused] = await Promise.all([page.waitForNavigation(), page.click("form.menu button[type=submit]")]);
  assert.equal(refused.status(), 400);
  assert.equal(await page.textContent(".problem"), "Cheese: please choose one");
  assert.ok(await page.isChecked("input[name=sauce][value='Tomato']"), "the sauce is still chosen");
  assert.ok(await page.isChecked("input[name=extra_topping][value='Onion']"), "the extra is still chosen");
  await page.screenshot({ path: `${shots}/2a-refused.png`, fullPage: true });
  problems.length = 0; // the 400 answer, which the console notes

  // "Clear form" undoes every choice, those the refused form came back with too.
  await page.click("form.menu button[type=reset]");
  assert.equal(await page.locator("form.menu input:checked").count(), 0, "Clear form clears");

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
  assert.equal(await page.title(), "Pizza Demo | Order");
  assert.equal(await page.textContent("h1"), "Order status");
  assert.equal(await page.inputValue("input[name=order_id]"), orderId, "the search box holds the order, as in the original");
  // The original's flow panel: the kitchen's boxes and the local cache. No ksqlDB box: no query
  // of ksqlDB's runs on this cluster, so the services write the statuses themselves.
  assert.deepEqual((await page.locator(".flow-chart .stage, .flow-chart .box").allTextContents()).sort(),
    ["assemble", "bake", "delivery", "local cache", "status", "webapp"]);
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

  // Each service's own entries about this order, in a window titled as the original's.
  const titles = { webapp: "Web Application", assemble: "Microservice Assemble", bake: "Microservice Bake",
    delivery: "Microservice Delivery", status: "Microservice Status" };
  for (const [service, title] of Object.entries(titles)) {
    const stage = page.locator(`.stage[data-service=${service}]`);
    assert.equal(await stage.getAttribute("title"),
      service === "webapp" ? "View web application logs" : "View microservices logs");
    await stage.click();
    await page.locator("#service-logs").waitFor({ state: "visible" });
    assert.equal(await page.textContent("#service-logs-title"), title);
    const text = await page.textContent("#service-logs-lines");
    assert.ok(text.includes(`'${orderId}'`), `${service} log lines name the order: ${text}`);
    assert.ok(text.split("\n").filter((l) => l.startsWith("(")).every((l) => l.startsWith(`(${service}) `)),
      `only ${service}'s lines: ${text}`);
    if (service === "bake") await page.screenshot({ path: `${shots}/4b-bake-logs.png` });
    await page.click("#service-logs .dialog-foot button");
    await page.locator("#service-logs").waitFor({ state: "hidden" });
  }

  // My Orders lists it with its status text, in the original's columns.
  await page.click("nav a[href='/orders']");
  await page.waitForURL(base + "/orders");
  assert.equal(await page.title(), "Pizza Demo | Orders");
  assert.deepEqual(await page.locator("table.orders thead th").allTextContents(), ["Order", "Order Time", "Status"]);
  const row = page.locator("table.orders tr", { hasText: orderId });
  assert.match(await row.textContent(), /Your pizza was delivered/);

  // A second order, followed from My Orders: its row changes by itself. My Orders must be on
  // screen before the pizza is delivered, so the order is posted (the form was shown above)
  // without opening its page, and with a slow recipe: 2.4 s of kitchen here.
  const posted = await page.request.post(base + "/", {
    form: { sauce: "Tomato", cheese: "Mozzarella", main_topping: "Pepperoni", extra_toppings: "Onion" },
    maxRedirects: 0,
  });
  assert.equal(posted.status(), 303, "the second order is placed");
  const secondId = posted.headers()["location"].split("/").pop();
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

  // An order that is not there (or is someone else's) says so on the order page (a 404, which
  // the browser's console notes).
  for (const [asked, url] of [["0badf00d", "/orders/0badf00d"], ["no such order", "/orders/search?order_id=no+such+order"]]) {
    const response = await page.goto(base + url);
    assert.equal(response.status(), 404, url);
    assert.equal(await page.title(), "Pizza Demo | Order");
    assert.equal(await page.textContent("h1"), "Order status");
    assert.equal(await page.textContent("p.not-found"), `Order '${asked}' not found`);
  }
  await page.screenshot({ path: `${shots}/6-not-found.png`, fullPage: true });
  console.log(`ok: order ${orderId} delivered; screenshots in ${shots}/`);
} finally {
  await browser.close();
}
