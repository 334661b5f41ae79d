// Drives headless Chromium through the snippet's scenarios against a
// collector started by e2e_test.go, and prints a JSON report on stdout. The
// Go test asserts on the report and on what reached ClickHouse.
//
// Usage: node browser.mjs BASE_URL CHROMIUM_PATH
// Uses playwright-core from tracker-js/node_modules and the system Chromium;
// it never downloads a browser. Each scenario gets a fresh user-data dir.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [base, executablePath] = process.argv.slice(2);
if (!base || !executablePath) {
  console.error('usage: node browser.mjs BASE_URL CHROMIUM_PATH');
  process.exit(2);
}

// A plain desktop Chrome: HeadlessChrome in the User-Agent is a bot to the
// collector. It is set on the command line too: playwright's per-page
// override misses keepalive beacons sent while a page unloads.
const userAgent =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--no-first-run', `--user-agent=${userAgent}`];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = async () => (await fetch(base + '/__e2e/log')).json();
const on = (entries, path, name) => entries.filter((e) => e.path === path && (!name || e.name === name));

// waitFor polls the collector's log of received events until pred holds.
async function waitFor(what, pred, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    const entries = await log();
    if (pred(entries)) return entries;
    if (Date.now() > end) {
      throw new Error(`timed out waiting for ${what}; received: ${JSON.stringify(entries)}`);
    }
    await sleep(50);
  }
}

async function withBrowser(options, fn) {
  const dir = mkdtempSync(join(tmpdir(), 'shade-e2e-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath, headless: true, args, userAgent, timeout: 60000, ...options,
  });
  try {
    const page = context.pages()[0] || await context.newPage();
    page.on('console', (m) => console.error(`[page ${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => console.error(`[page error] ${e}`));
    return await fn(context, page);
  } finally {
    await context.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const snippetReady = (page) => page.waitForFunction(() => typeof window.shade === 'function' && 'optOut' in window.shade);
const stateText = (page) => page.textContent('#state');

// A request made by other code on the page, to show the collector drops it too.
const manualEvent = (page) => page.evaluate(() => fetch('/api/event', {
  method: 'POST',
  body: JSON.stringify({ n: 'pageview', u: location.href, d: 'test.localhost' }),
}).then((r) => r.status));

const report = {};

// A normal visit: pageview, a queued custom event, no cookie or storage,
// engagement when the page is hidden by navigating away.
await withBrowser({}, async (context, page) => {
  await page.goto(base + '/normal.html');
  await waitFor('pageview and Signup of /normal.html',
    (l) => on(l, '/normal.html', 'pageview').length === 1 && on(l, '/normal.html', 'Signup').length === 1);
  await page.mouse.wheel(0, 800);
  await sleep(400);
  report.normal = {
    cookies: (await context.cookies()).map((c) => c.name),
    localStorage: await page.evaluate(() => localStorage.length),
    sessionStorage: await page.evaluate(() => sessionStorage.length),
  };
  // Leaving the page makes it hidden: the snippet sends the engaged time.
  await page.goto('about:blank');
  await waitFor('engagement of /normal.html', (l) => on(l, '/normal.html', 'engagement').length >= 1);
});

// A single-page app: each path change is one pageview.
await withBrowser({}, async (context, page) => {
  await page.goto(base + '/spa.html');
  await waitFor('pageview of /spa.html', (l) => on(l, '/spa.html', 'pageview').length === 1);
  await sleep(150);
  await page.evaluate(() => history.pushState({}, '', '/spa/one'));
  await waitFor('pageview of /spa/one', (l) => on(l, '/spa/one', 'pageview').length === 1);
  await sleep(150);
  await page.evaluate(() => history.pushState({}, '', '/spa/two'));
  await waitFor('pageview of /spa/two', (l) => on(l, '/spa/two', 'pageview').length === 1);
  await page.evaluate(() => {
    history.replaceState({}, '', '/spa/two?tab=2'); // query only: not a new page
    history.pushState({}, '', '/spa/two#details');  // fragment only, no data-hash: not a new page
  });
  await sleep(150);
  await page.evaluate(() => history.back()); // back to /spa/two?tab=2: same page
  await sleep(150);
  await page.evaluate(() => history.back()); // back to /spa/one: a navigation
  await waitFor('second pageview of /spa/one', (l) => on(l, '/spa/one', 'pageview').length === 2);
  await sleep(500); // time for a wrongly counted navigation to arrive
});

// Do Not Track and Global Privacy Control: the snippet sends nothing; a
// request sent anyway carries the header and is dropped by the collector.
for (const [key, path, headers, init] of [
  ['dnt', '/dnt.html', { DNT: '1' },
    () => Object.defineProperty(Navigator.prototype, 'doNotTrack', { get: () => '1' })],
  ['gpc', '/gpc.html', { 'Sec-GPC': '1' },
    () => Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true })],
]) {
  await withBrowser({ extraHTTPHeaders: headers }, async (context, page) => {
    await context.addInitScript(init);
    await page.goto(base + path);
    await snippetReady(page);
    await page.evaluate(() => shade('Signup', { props: { plan: 'pro' } }));
    await page.mouse.wheel(0, 800);
    await page.evaluate(() => history.pushState({}, '', location.pathname + '?spa=1'));
    await sleep(800);
    const snippetSent = on(await log(), path);
    await manualEvent(page);
    const all = await waitFor(`hand-made request on ${path}`, (l) => on(l, path).length > snippetSent.length);
    report[key] = { snippetSent, manualSent: on(all, path).slice(snippetSent.length) };
  });
}

// Opt-out through the snippet's first-party flag (shade.optOut()).
await withBrowser({}, async (context, page) => {
  await page.goto(base + '/optout-setup.html');
  await waitFor('pageview of /optout-setup.html', (l) => on(l, '/optout-setup.html', 'pageview').length === 1);
  await page.evaluate(() => shade.optOut());
  const flag = await page.evaluate(() => localStorage.getItem('shade_optout'));
  await page.goto(base + '/optout-ls.html');
  await snippetReady(page);
  await page.evaluate(() => shade('Signup'));
  await sleep(800);
  report.optOutStorage = { flag, sent: on(await log(), '/optout-ls.html') };
});

// Matomo's Tracking API from a page on another origin (localhost → 127.0.0.1).
await withBrowser({}, async (context, page) => {
  const before = on(await log(), '/matomo.php').length;
  await page.goto(base.replace('127.0.0.1', 'localhost') + '/matomo.html');
  await page.waitForFunction(() => window.matomoResult);
  const result = await page.evaluate(() => window.matomoResult);
  await waitFor('the three Matomo requests', (l) => on(l, '/matomo.php').length >= before + 3);
  report.matomo = result;
});

// Opt-out through the collector's page and its cookie, then back in.
await withBrowser({}, async (context, page) => {
  await page.goto(base + '/optout?lang=en');
  await Promise.all([page.waitForURL(/\/optout\?lang=en$/), page.click('button[value=out]')]);
  await page.waitForLoadState();
  const stateOut = await stateText(page);
  const cookie = (await context.cookies()).find((c) => c.name === 'shade_optout') || {};
  await page.goto(base + '/optout-cookie.html');
  await snippetReady(page);
  await page.evaluate(() => shade('Signup'));
  const sent = on(await waitFor('requests of /optout-cookie.html',
    (l) => on(l, '/optout-cookie.html').length >= 2), '/optout-cookie.html');
  await page.goto(base + '/optout?lang=en');
  await Promise.all([page.waitForURL(/\/optout\?lang=en$/), page.click('button[value=in]')]);
  await page.waitForLoadState();
  report.optOutCookie = {
    stateOut, cookie, sent,
    stateIn: await stateText(page),
    cookiesLeft: (await context.cookies()).length,
  };
});

report.received = await log();
process.stdout.write(JSON.stringify(report) + '\n');
