'use strict';
// A small fake browser for running the real scripts in node:vm: just the
// window, document, navigator, location, history and storage surface the
// scripts touch, plus helpers to drive it and to see what was sent.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const STUB = 'window.shade = window.shade || function () { (window.shade.q = window.shade.q || []).push(arguments) };';

function eventTarget(obj) {
  const listeners = {};
  obj.addEventListener = (type, fn) => (listeners[type] = listeners[type] || []).push(fn);
  obj.dispatch = (type, ev = {}) => {
    for (const fn of listeners[type] || []) fn(Object.assign({ type }, ev));
  };
  obj.listenerCount = (type) => (listeners[type] || []).length;
  return obj;
}

// element is just enough of an Element for the opt-out checkbox.
function element(tagName) {
  const el = { tagName: tagName.toUpperCase(), childNodes: [] };
  el.append = (...nodes) => {
    for (const n of nodes) el.childNodes.push(typeof n === 'string' ? { data: n } : n);
  };
  Object.defineProperty(el, 'innerHTML', {
    set() { throw new Error('innerHTML must not be used'); },
  });
  Object.defineProperty(el, 'textContent', {
    get() { return el.childNodes.map((n) => n.data ?? n.textContent ?? '').join(''); },
  });
  return el;
}

// browser runs src/<file> in a fresh fake page and returns handles on it.
function browser(opts = {}) {
  const sent = [];
  const cookieWrites = [];
  const timers = [];
  let now = 1_700_000_000_000;

  const location = {};
  const setURL = (u) => {
    const url = new URL(u, location.href);
    for (const k of ['href', 'origin', 'protocol', 'host', 'hostname', 'pathname', 'search', 'hash']) location[k] = url[k];
  };
  setURL(opts.url || 'https://example.com/start');

  const optoutEls = Array.from({ length: opts.optoutElements || 0 }, () => element('div'));
  const doc = eventTarget({
    currentScript: {
      src: opts.src || 'https://stats.example.org/shade.js',
      dataset: Object.assign({ domain: 'example.com' }, opts.data),
    },
    title: 'Start page',
    referrer: 'referrer' in opts ? opts.referrer : 'https://search.example/?q=shade',
    hidden: !!opts.hidden,
    prerendering: !!opts.prerendering,
    readyState: opts.readyState || 'interactive',
    documentElement: { lang: opts.lang || 'en', scrollHeight: opts.scrollHeight || 4000 },
    querySelectorAll: (sel) => (sel === '[data-shade-optout]' ? optoutEls : []),
    createElement: element,
    createTextNode: (data) => ({ data }),
  });
  Object.defineProperty(doc, 'cookie', {
    get: () => '',
    set: (v) => {
      cookieWrites.push(v);
      throw new Error('the snippet must never write a cookie');
    },
  });

  const nav = {
    doNotTrack: opts.doNotTrack === undefined ? null : opts.doNotTrack,
    globalPrivacyControl: opts.globalPrivacyControl,
    webdriver: !!opts.webdriver,
  };
  if (opts.sendBeacon !== 'missing') {
    nav.sendBeacon = (url, body) => {
      if (typeof body !== 'string') throw new Error('want a string body (text/plain), got ' + typeof body);
      sent.push({ url, via: 'beacon', body: JSON.parse(body) });
      return opts.sendBeacon !== 'refuses';
    };
  }

  const win = eventTarget({
    document: doc,
    navigator: nav,
    location,
    history: {
      pushState: (state, title, u) => u != null && setURL(u),
      replaceState: (state, title, u) => u != null && setURL(u),
    },
    innerWidth: 1280,
    innerHeight: 800,
    scrollY: 0,
    URL,
    Date: { now: () => now },
    setTimeout: (fn) => timers.push(fn),
    fetch: (url, init) => {
      sent.push({ url, via: 'fetch', init, body: JSON.parse(init.body) });
      return Promise.resolve();
    },
  });
  win.window = win;
  if (opts.windowDoNotTrack) win.doNotTrack = opts.windowDoNotTrack;
  if (opts.storage === 'throws') {
    Object.defineProperty(win, 'localStorage', { get() { throw new Error('SecurityError: storage is blocked'); } });
  } else {
    win.localStorage = opts.storage || {};
  }

  vm.createContext(win);
  const run = (code, filename) => vm.runInContext(code, win, { filename });
  if (opts.stub) run(STUB + (opts.stub === true ? '' : opts.stub), 'stub.js');
  const file = opts.file || 'shade.js';
  run(fs.readFileSync(path.join(__dirname, '..', 'src', file), 'utf8'), file);

  const page = {
    win, doc, sent, cookieWrites, optoutEls, run,
    // events lists the bodies sent so far, optionally only those named n.
    events: (n) => sent.filter((s) => n === undefined || s.body.n === n).map((s) => s.body),
    advance: (ms) => { now += ms; },
    // flush runs pending timers, as the event loop would after this task.
    flush: () => { while (timers.length) timers.shift()(); },
    push: (u) => { win.history.pushState({}, '', u); },
    replace: (u) => { win.history.replaceState({}, '', u); },
    back: (u) => { setURL(u); win.dispatch('popstate', { state: null }); },
    hide: () => { doc.hidden = true; doc.dispatch('visibilitychange'); },
    show: () => { doc.hidden = false; doc.dispatch('visibilitychange'); },
    scrollTo: (y) => { win.scrollY = y; win.dispatch('scroll'); },
    // click dispatches a click on a link to href, as if the visitor clicked it.
    click: (href, type = 'click') => {
      const u = new URL(href, location.href);
      const a = {
        href: u.href, origin: u.origin, protocol: u.protocol, host: u.host,
        hostname: u.hostname, pathname: u.pathname,
      };
      a.closest = (sel) => (sel === 'a' ? a : null);
      doc.dispatch(type, { target: a, button: 0 });
    },
  };
  return page;
}

module.exports = { browser };
