// End-to-end test of the dashboard in a real Chromium, driven by
// dashboard/e2e_test.go, which starts the server on known data and passes
// its address and the accounts in the environment. Prints one line per check
// and exits non-zero when any fails.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { chromium } = require("playwright-core");

const base = process.env.BASE_URL;
const failures = [];
function check(ok, what) {
  console.log((ok ? "ok   " : "FAIL ") + what);
  if (!ok) failures.push(what);
}

async function main() {
  const context = await chromium.launchPersistentContext(process.env.USER_DATA_DIR, {
    executablePath: process.env.CHROMIUM,
    headless: true,
    acceptDownloads: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--no-first-run"],
  });
  const page = context.pages()[0] || (await context.newPage());
  const problems = [];
  page.on("dialog", async (d) => { problems.push("dialog opened: " + d.message()); await d.dismiss(); });
  page.on("pageerror", (err) => problems.push("page error: " + err.message));
  page.on("console", (msg) => {
    if (/Content Security Policy|Refused to/.test(msg.text())) problems.push("CSP: " + msg.text());
  });
  page.setDefaultTimeout(15000);

  // Sign in.
  await page.goto(base + "/login");
  await page.getByLabel("Email").fill(process.env.EMAIL);
  await page.getByLabel("Password").fill(process.env.PASSWORD);
  await Promise.all([page.waitForURL(/\/sites\/a\.example\/overview/), page.getByRole("button", { name: "Sign in" }).click()]);
  check(true, "sign-in lands on the only site's overview");

  // Overview with KPIs and chart.
  await page.goto(base + "/sites/a.example/overview?period=day&date=2024-03-10");
  const visitors = await page.locator(".kpi").first().locator(".value").innerText();
  check(visitors.trim() === "3", "overview shows 3 visitors (got " + visitors + ")");
  check(await page.locator(".chart polyline").count() === 1, "overview draws the time series");

  // Click a row to filter.
  await Promise.all([page.waitForURL(/filters=/), page.locator("#t-sources a.filter", { hasText: "Google" }).click()]);
  check(page.url().includes("visit%3Asource%3D%3DGoogle"), "clicking a source row puts the filter in the URL");
  check(await page.locator(".filters").innerText().then((t) => t.includes("Source is Google")), "the active filter is shown");
  const filtered = await page.locator(".kpi").first().locator(".value").innerText();
  check(filtered.trim() === "1", "the filter applies to the KPIs (got " + filtered + ")");

  // Change the range: the select submits itself and keeps the filter.
  await Promise.all([page.waitForURL(/period=7d/), page.locator("#period").selectOption("7d")]);
  check(page.url().includes("filters="), "changing the range keeps the filters");
  await page.goBack();
  check(page.url().includes("period=day"), "the back button restores the previous state");

  // Export CSV.
  const [download] = await Promise.all([page.waitForEvent("download"), page.locator("#t-pages a.export").click()]);
  const file = path.join(process.env.DOWNLOAD_DIR, "pages.csv");
  await download.saveAs(file);
  const csv = fs.readFileSync(file, "utf8");
  check(csv.startsWith("page,visitors,pageviews\n") && csv.includes("/blog/a,"), "CSV export of top pages: " + JSON.stringify(csv));

  // Hostile stored strings show as text and run nothing.
  await page.goto(base + "/sites/a.example/behaviour?period=day&date=2024-03-10");
  const titles = await page.locator("#t-titles").innerText();
  check(titles.includes("<script>window.pwned=1</script>"), "a <script> page title is shown as text");
  await page.goto(base + "/sites/a.example/acquisition?period=day&date=2024-03-10");
  const refs = await page.locator("#t-referrers").innerText();
  check(refs.includes('<img src=x onerror="window.pwned=2">'), "an <img onerror> referrer is shown as text");
  check(await page.evaluate(() => window.pwned === undefined), "no stored payload ran");

  // Keyboard: the first tab stop is the skip link, and a report link is focusable.
  await page.keyboard.press("Tab");
  check(await page.evaluate(() => document.activeElement.classList.contains("skip")), "the first Tab reaches the skip link");

  // A viewer of site A cannot reach site B.
  const res = await page.goto(base + "/sites/b.example/overview");
  check(res.status() === 404, "site B answers 404 to a viewer of site A (got " + res.status() + ")");
  check(!(await page.content()).includes("b-secret-page"), "no data of site B is shown");

  check(problems.length === 0, "no dialogs, page errors or CSP violations: " + JSON.stringify(problems));
  await context.close();
}

main().then(
  () => process.exit(failures.length ? 1 : 0),
  (err) => { console.log("FAIL " + (err && err.stack || err)); process.exit(1); },
);
