// Takes the README's dashboard screenshots in Debian's Chromium. Run by
// scripts/screenshots on a server filled with demo traffic:
//
//   node dashboard/e2e/screenshots.cjs URL EMAIL PASSWORD OUT_DIR
//
// It signs in, defines two goals on the demo site, and saves one PNG per
// report. A page that shows no data, or a page error, fails the run rather
// than producing an empty picture.
"use strict";
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { chromium } = require("playwright-core");

const [base, email, password, outDir] = process.argv.slice(2);
if (!base || !email || !password || !outDir) {
  console.error("usage: node screenshots.cjs URL EMAIL PASSWORD OUT_DIR");
  process.exit(2);
}
const site = process.env.SITE || "demo.shade.localhost";
const desktop = { width: 1280, height: 900 };
const phone = { width: 390, height: 844 };

// Each shot: file name, report path, whether to capture the whole page, and
// a selector that must be present, so that an empty report fails the run.
const shots = [
  { file: "overview.png", report: "overview", fullPage: true, needs: ".chart polyline" },
  { file: "behaviour.png", report: "behaviour", fullPage: false, needs: "#t-pages tbody tr" },
  { file: "acquisition.png", report: "acquisition", fullPage: false, needs: "#t-channels tbody tr" },
  { file: "audience.png", report: "audience", fullPage: false, needs: "#t-countries .map circle" },
  { file: "goals.png", report: "goals", fullPage: false, needs: "table tbody tr" },
  { file: "visits.png", report: "visits", fullPage: false, needs: "ol.visits > li" },
];

async function main() {
  fs.mkdirSync(outDir, { recursive: true });
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "shade-screenshots-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    viewport: desktop,
    deviceScaleFactor: 1,
    colorScheme: "light",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--no-first-run"],
  });
  const problems = [];
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.on("pageerror", (err) => problems.push("page error: " + err.message));
    page.on("dialog", async (d) => { problems.push("dialog: " + d.message()); await d.dismiss(); });
    page.setDefaultTimeout(30000);

    await page.goto(base + "/login");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(password);
    await Promise.all([page.waitForURL((u) => !u.pathname.startsWith("/login")),
      page.getByRole("button", { name: "Sign in" }).click()]);

    // Goals are settings, not traffic: define two so the goals report has
    // something to convert on (the demo sends Signup events from /pricing).
    for (const [kind, value] of [["event", "Signup"], ["page", "/pricing"]]) {
      await page.goto(`${base}/sites/${site}/settings`);
      if (await page.locator("ul.plain li", { hasText: value }).count() > 0) continue;
      const form = page.locator("form.inline-form", { has: page.locator("select[name=kind]") });
      await form.locator("select[name=kind]").selectOption(kind);
      await form.locator("input[name=value]").fill(value);
      await Promise.all([page.waitForLoadState("load"), page.waitForURL(/settings/),
        form.getByRole("button", { name: "Add goal" }).click()]);
    }

    const take = async (file, report, fullPage, needs) => {
      await page.goto(`${base}/sites/${site}/${report}`, { waitUntil: "networkidle" });
      if (await page.locator(needs).count() === 0) {
        throw new Error(`${report}: nothing matches ${needs}: the report shows no data`);
      }
      const dest = path.join(outDir, file);
      await page.screenshot({ path: dest, type: "png", fullPage });
      console.log(`${dest} ${Math.round(fs.statSync(dest).size / 1024)} KiB`);
    };
    for (const s of shots) await take(s.file, s.report, s.fullPage, s.needs);

    await page.setViewportSize(phone);
    await take("phone.png", "overview", false, ".kpi");
  } finally {
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
  if (problems.length) throw new Error(problems.join("\n"));
}

main().catch((err) => {
  console.error((err && err.stack) || err);
  process.exit(1);
});
