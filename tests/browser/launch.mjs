// What both browser scripts share: Debian's Chromium, headless, and a step clock for their output.
import { chromium } from "playwright-core";

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    // Root in a container has no sandbox; the rest keeps Chromium off the (closed) network.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** Prints each step with the seconds since the script started. */
export function stepper() {
  const started = Date.now();
  return (what) => console.log(`${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`);
}
