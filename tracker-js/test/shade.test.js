'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { browser } = require('./fake-browser.js');

test('sends one pageview on load with the Events API fields', () => {
  const page = browser({ url: 'https://example.com/pricing?utm_source=news#plans' });
  assert.equal(page.sent.length, 1);
  const { url, via, body } = page.sent[0];
  assert.equal(url, 'https://stats.example.org/api/event');
  assert.equal(via, 'beacon');
  assert.deepEqual(body, {
    n: 'pageview',
    u: 'https://example.com/pricing?utm_source=news#plans',
    d: 'example.com',
    r: 'https://search.example/?q=shade',
    w: 1280,
    h: 0,
    t: 'Start page',
  });
});

test('data-api overrides the endpoint; data-domain defaults to the hostname', () => {
  const page = browser({ data: { api: 'https://example.com/stats', domain: undefined } });
  assert.equal(page.sent[0].url, 'https://example.com/stats/api/event');
  assert.equal(page.events()[0].d, 'example.com');
});

test('falls back to fetch with keepalive when sendBeacon refuses or is missing', () => {
  for (const sendBeacon of ['refuses', 'missing']) {
    const page = browser({ sendBeacon });
    const viaFetch = page.sent.filter((s) => s.via === 'fetch');
    assert.equal(viaFetch.length, 1, sendBeacon);
    assert.equal(viaFetch[0].url, 'https://stats.example.org/api/event');
    assert.equal(viaFetch[0].init.method, 'POST');
    assert.equal(viaFetch[0].init.keepalive, true);
    // A string body is sent as text/plain: no CORS preflight.
    assert.equal(typeof viaFetch[0].init.body, 'string');
    assert.equal(viaFetch[0].body.n, 'pageview');
  }
});

test('Do Not Track, Global Privacy Control and the opt-out flag suppress everything', () => {
  const cases = {
    'navigator.doNotTrack': { doNotTrack: '1' },
    'window.doNotTrack': { windowDoNotTrack: '1' },
    'navigator.globalPrivacyControl': { globalPrivacyControl: true },
    'opted out': { storage: { shade_optout: '1' } },
  };
  for (const [name, opts] of Object.entries(cases)) {
    const page = browser(Object.assign({ stub: "; shade('Queued')", data: { outbound: '' } }, opts));
    page.run("shade('Signup', {props: {plan: 'pro'}})");
    page.push('/next');
    page.flush();
    page.advance(5000);
    page.click('https://elsewhere.example/');
    page.hide();
    assert.deepEqual(page.sent, [], name);
  }
});

test('doNotTrack "0" and "unspecified" do not suppress', () => {
  for (const doNotTrack of ['0', 'unspecified']) {
    assert.equal(browser({ doNotTrack }).events('pageview').length, 1, doNotTrack);
  }
});

test('automated browsers are ignored unless data-allow-automation is set', () => {
  assert.equal(browser({ webdriver: true }).sent.length, 0);
  assert.equal(browser({ webdriver: true, data: { allowAutomation: '' } }).events('pageview').length, 1);
});

test('localhost, 127.x and file: are ignored unless data-allow-localhost is set', () => {
  for (const url of ['http://localhost:3000/', 'http://127.0.0.1:8080/x', 'file:///home/me/site/index.html']) {
    assert.equal(browser({ url }).sent.length, 0, url);
    const page = browser({ url, data: { allowLocalhost: '' } });
    assert.equal(page.events('pageview').length, 1, url + ' with data-allow-localhost');
  }
  // Hosts that merely start like a loopback name are real sites.
  for (const url of ['https://localhost.example.com/', 'https://127.example.com/']) {
    assert.equal(browser({ url }).events('pageview').length, 1, url);
  }
});

test('calls queued by the stub before the snippet loaded are sent after the pageview', () => {
  const page = browser({ stub: "; shade('Signup', {props: {plan: 'pro'}}); shade('Download')" });
  assert.deepEqual(page.events().map((e) => e.n), ['pageview', 'Signup', 'Download']);
  assert.deepEqual(page.events('Signup')[0].p, { plan: 'pro' });
});

test('custom events carry props as strings and the current URL', () => {
  const page = browser();
  page.run("var props = {plan: 'pro', seats: 3, trial: false}; shade('Signup', {props: props})");
  assert.equal(page.run('props.seats'), 3, "the caller's props object is left alone");
  page.run("shade('Plain')");
  const [signup] = page.events('Signup');
  assert.deepEqual(signup.p, { plan: 'pro', seats: '3', trial: 'false' });
  assert.equal(signup.u, 'https://example.com/start');
  assert.equal(signup.d, 'example.com');
  assert.equal('p' in page.events('Plain')[0], false);
});

test('pushState to a new path sends one pageview without referrer; same URL or query-only changes send none', () => {
  const page = browser();
  page.push('/start');
  page.replace('/start');
  page.push('/start?sort=price');
  page.flush();
  assert.equal(page.events('pageview').length, 1);

  page.doc.title = 'Docs';
  page.push('/docs');
  page.flush();
  page.push('/docs');
  page.flush();
  const views = page.events('pageview');
  assert.equal(views.length, 2);
  assert.equal(views[1].u, 'https://example.com/docs');
  assert.equal(views[1].r, '');
  assert.equal(views[1].t, 'Docs');
});

test('replaceState to a new path and popstate count as navigations', () => {
  const page = browser();
  page.replace('/a');
  page.flush();
  page.back('/start');
  page.flush();
  page.back('/start');
  page.flush();
  assert.deepEqual(page.events('pageview').map((e) => e.u), [
    'https://example.com/start', 'https://example.com/a', 'https://example.com/start',
  ]);
});

test('hash changes count only with data-hash, and then carry h: 1', () => {
  const plain = browser();
  plain.push('#/settings');
  plain.back('/start#/profile');
  plain.flush();
  assert.equal(plain.events('pageview').length, 1);

  const page = browser({ data: { hash: '' } });
  page.push('#/settings');
  page.flush();
  page.back('/start#/profile');
  page.win.dispatch('hashchange');
  page.flush();
  const views = page.events('pageview');
  assert.deepEqual(views.map((e) => e.u), [
    'https://example.com/start', 'https://example.com/start#/settings', 'https://example.com/start#/profile',
  ]);
  assert.ok(views.every((e) => e.h === 1));
});

test('engagement on hide reports visible time only and the deepest scroll', () => {
  const page = browser({ scrollHeight: 4000 });
  page.advance(3000);
  page.scrollTo(1200); // (1200 + 800) / 4000 = 50 %
  page.scrollTo(0);
  page.hide();
  page.advance(60_000); // hidden: not engaged
  page.show();
  page.advance(2000);
  page.hide();
  const engagement = page.events('engagement');
  assert.equal(engagement.length, 2);
  for (const e of engagement) {
    assert.equal(e.u, 'https://example.com/start');
    assert.ok(e.sd >= 0 && e.sd <= 100, `sd ${e.sd}`);
    assert.equal('r' in e, false);
  }
  assert.deepEqual(engagement.map((e) => [e.e, e.sd]), [[3000, 50], [2000, 50]]);
});

test('scroll depth stays within 0..100 on short pages', () => {
  const page = browser({ scrollHeight: 300 });
  page.advance(10);
  page.hide();
  assert.equal(page.events('engagement')[0].sd, 100);
});

test('an SPA navigation first sends the old page view\'s engagement', () => {
  const page = browser();
  page.advance(4000);
  page.scrollTo(3200);
  page.push('/next');
  page.scrollTo(0); // the router scrolls the new page to the top
  page.flush();
  assert.deepEqual(page.events().map((e) => e.n), ['pageview', 'engagement', 'pageview']);
  const engagement = page.events('engagement')[0];
  assert.equal(engagement.u, 'https://example.com/start');
  assert.equal(engagement.e, 4000);
  assert.equal(engagement.sd, 100);
  page.advance(1000);
  page.hide();
  const next = page.events('engagement')[1];
  assert.equal(next.u, 'https://example.com/next');
  assert.equal(next.e, 1000);
  assert.equal(next.sd, 20); // 800 of 4000 px in view
});

test('a page loaded in a background tab counts time only once shown', () => {
  const page = browser({ hidden: true });
  page.advance(10_000);
  page.show();
  page.advance(1500);
  page.hide();
  assert.deepEqual(page.events('engagement').map((e) => e.e), [1500]);
});

test('outbound links and downloads are tracked only when asked, without query or fragment', () => {
  const quiet = browser();
  quiet.click('https://elsewhere.example/');
  quiet.click('/files/report.pdf');
  assert.equal(quiet.sent.length, 1);

  const page = browser({ data: { outbound: '', downloads: '' } });
  page.click('https://elsewhere.example/path?token=secret#top');
  page.click('/files/Report.PDF?download=1');
  page.click('https://cdn.example.net/app.dmg');
  page.click('/about');
  page.click('mailto:hello@example.com');
  page.click('tel:+331234');
  assert.deepEqual(page.events().slice(1).map((e) => [e.n, e.p.url]), [
    ['Outbound Link: Click', 'https://elsewhere.example/path'],
    ['File Download', 'https://example.com/files/Report.PDF'],
    ['File Download', 'https://cdn.example.net/app.dmg'],
  ]);
});

test('clicks outside links are ignored', () => {
  const page = browser({ data: { outbound: '', downloads: '' } });
  page.doc.dispatch('click', { target: { closest: () => null } });
  assert.equal(page.sent.length, 1);
});

test('prerendering pages send nothing until activated', () => {
  const page = browser({ prerendering: true, stub: "; shade('Early')" });
  page.advance(1000);
  page.doc.dispatch('visibilitychange');
  assert.deepEqual(page.sent, []);
  page.doc.prerendering = false;
  page.doc.dispatch('prerenderingchange');
  assert.deepEqual(page.events().map((e) => e.n), ['pageview', 'Early']);
});

test('optOut and optIn toggle the localStorage flag and stop and resume sending', () => {
  const storage = {};
  const page = browser({ storage });
  page.run('shade.optOut()');
  assert.equal(String(storage.shade_optout), '1');
  page.run("shade('Hidden')");
  page.push('/hidden');
  page.flush();
  assert.equal(page.sent.length, 1);
  page.run('shade.optIn()');
  assert.equal('shade_optout' in storage, false);
  page.run("shade('Visible')");
  assert.deepEqual(page.events().map((e) => e.n), ['pageview', 'Visible']);
});

test('blocked storage neither breaks tracking nor the opt-out API', () => {
  const page = browser({ storage: 'throws' });
  assert.equal(page.events('pageview').length, 1);
  page.run('shade.optOut()');
  page.run("shade('AfterOptOut')");
  assert.equal(page.sent.length, 1);
});

test('never writes a cookie', () => {
  const page = browser({ stub: "; shade('Queued')", data: { outbound: '', downloads: '', hash: '' } });
  page.run("shade('Signup', {props: {plan: 'pro'}})");
  page.push('/a#b');
  page.flush();
  page.scrollTo(500);
  page.click('https://elsewhere.example/');
  page.click('/x.zip');
  page.advance(100);
  page.hide();
  page.run('shade.optOut(); shade.optIn()');
  assert.deepEqual(page.cookieWrites, []);
  assert.ok(page.sent.length >= 6);
});
