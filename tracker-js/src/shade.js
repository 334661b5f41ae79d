// Shade tracking snippet. Readable source: the collector minifies it with
// esbuild at start-up (tracker-js/trackerjs.go). Budget: 1,024 bytes gzipped,
// so the code favours short constructs; comments say why. The opt-out
// checkbox lives in optout.js, loaded only on the page that shows it.
((w, d) => {
  let nav = w.navigator;
  let loc = w.location;
  let script = d.currentScript;
  let data = script.dataset;
  let endpoint = (data.api || new URL(script.src).origin) + '/api/event';
  let hash = 'hash' in data;

  // Reasons not to count this page load at all: Do Not Track (window.doNotTrack
  // in older Safari and Edge; IE's msDoNotTrack is moot, IE can't run this
  // code), Global Privacy Control, local development (an empty hostname is a
  // file: URL), automated browsers.
  let off = nav.doNotTrack == 1 || w.doNotTrack == 1 ||
    nav.globalPrivacyControl ||
    !('allowLocalhost' in data) && /^(localhost|127\.[\d.]+|)$/.test(loc.hostname) ||
    !('allowAutomation' in data) && nav.webdriver;

  // The visitor's own opt-out flag ("1"), the only thing the snippet stores.
  // Storage may be blocked (reading it throws); then an opt-out lasts for
  // this page only.
  let store = {};
  try { store = w.localStorage || store; } catch (e) {}

  // body holds n and the event's own fields; the common ones are added here.
  let send = (body) => {
    if (off || store.shade_optout == 1) return;
    body = JSON.stringify(Object.assign(
      { u: loc.href, d: data.domain || loc.hostname, w: w.innerWidth, h: +hash, t: d.title }, body));
    // A string body goes as text/plain;charset=UTF-8 (fetch's default too),
    // a "simple" request: no CORS preflight.
    nav.sendBeacon && nav.sendBeacon(endpoint, body) || fetch(endpoint, { method: 'POST', body, keepalive: true });
  };

  // Custom events: shade(name, {props}); props values are sent as strings,
  // copied so the caller's object stays as it was.
  let shade = (n, { props } = {}, p = props && {}) => {
    for (let k in props) p[k] = '' + props[k];
    send({ n, p });
  };
  shade.optOut = () => store.shade_optout = 1;
  shade.optIn = () => delete store.shade_optout;

  // Engagement of the current page view: visible time and deepest scroll.
  let page;        // route key of the current page view
  let pageUrl;     // its URL: engagement may be sent after the URL changed
  let since;       // when the page last became visible; false while hidden
  let engaged = 0; // visible ms not yet sent
  let depth = 0;   // deepest scroll, in % of the document height
  let measure = () => {
    depth = Math.max(depth,
      Math.min(100, (w.scrollY + w.innerHeight) / d.documentElement.scrollHeight * 100 | 0));
  };
  // Runs on every visibility change: closes the visible stretch, if any, and
  // reports it; a page that becomes visible only restarts the clock.
  let engage = (now) => {
    now = Date.now();
    engaged += since && now - since;
    since = !d.hidden && now;
    measure();
    engaged && send({ n: 'engagement', u: pageUrl, e: engaged, sd: depth });
    engaged = 0;
  };

  // Only the first pageview of a page load carries the referrer, so SPA
  // navigations don't count the external source again.
  let pageview = () => send({ n: 'pageview', u: pageUrl = loc.href, r: page ? '' : d.referrer });
  // A navigation counts once, when the path (and the hash, with data-hash)
  // changed; query-only changes such as filters or search-as-you-type don't.
  // An SPA navigation first closes the previous page view; its pageview waits
  // a task so the framework can set the new document.title.
  let route = (key) => {
    key = loc.pathname + (hash ? loc.hash : '');
    if (key != page) {
      page ? (engage(), depth = 0, setTimeout(pageview)) : pageview();
      page = key;
    }
  };

  // Calls made before the snippet started wait in the documented stub's
  // queue, window.shade.q; so do calls made while the page is prerendering.
  let start = () => {
    if (!off) {
      ['pushState', 'replaceState'].map((method, original) => {
        original = w.history[method];
        w.history[method] = function () {
          original.apply(this, arguments);
          route();
        };
      });
      w.addEventListener('popstate', route);
      w.addEventListener('hashchange', route);
      w.addEventListener('scroll', measure);
      d.addEventListener('visibilitychange', engage);
      // Link clicks, when asked for. The URL goes without query string and
      // fragment: they may carry tokens or personal data. An empty host is a
      // mailto:, tel: or javascript: link.
      d.addEventListener('click', (ev, a, n) => {
        a = ev.target.closest('a'); // a click's target is always an element
        n = a && ('downloads' in data && /\.(pdf|zip|dmg|exe|docx?|xlsx?|pptx?|csv|mp3|mp4)$/i.test(a.pathname)
          ? 'File Download'
          : 'outbound' in data && a.host && a.host != loc.host && 'Outbound Link: Click');
        n && send({ n, p: { url: a.origin + a.pathname } });
      });
      engage();
      route();
    }
    (w.shade && w.shade.q || []).map((args) => shade(...args));
    w.shade = shade;
  };

  // A prerendered page counts when, and only if, the visitor gets to see it.
  d.prerendering ? d.addEventListener('prerenderingchange', start) : start();
})(window, document);
