'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { browser } = require('./fake-browser.js');

const widget = (opts) => browser(Object.assign({ file: 'optout.js', optoutElements: 2 }, opts));
const parts = (el) => {
  const [label] = el.childNodes;
  const [box, text] = label.childNodes;
  return { label, box, text: text.data.trim() };
};

test('fills every data-shade-optout element with a checkbox inside its label', () => {
  const page = widget();
  for (const el of page.optoutEls) {
    const { label, box, text } = parts(el);
    assert.equal(label.tagName, 'LABEL');
    assert.equal(box.tagName, 'INPUT');
    assert.equal(box.type, 'checkbox');
    assert.equal(box.checked, true);
    assert.equal(box.disabled, false);
    assert.equal(text, 'You are counted anonymously. Uncheck to opt out.');
  }
});

test('unchecking sets the flag, checking clears it, and every copy follows', () => {
  const storage = {};
  const page = widget({ storage });
  const [first, second] = page.optoutEls.map(parts);
  first.box.checked = false;
  first.box.onchange();
  assert.equal(String(storage.shade_optout), '1');
  assert.equal(parts(page.optoutEls[1]).box.checked, false);
  assert.equal(parts(page.optoutEls[1]).text, 'You are not counted.');
  second.box.checked = true;
  second.box.onchange();
  assert.equal('shade_optout' in storage, false);
  assert.equal(parts(page.optoutEls[0]).box.checked, true);
});

test('shows an earlier opt-out, and the snippet honours the widget\'s flag', () => {
  const storage = { shade_optout: '1' };
  assert.equal(parts(widget({ storage }).optoutEls[0]).box.checked, false);
  assert.equal(browser({ storage }).sent.length, 0);
});

test('speaks French and German by the page language', () => {
  assert.equal(parts(widget({ lang: 'fr-CA' }).optoutEls[0]).text, 'Vous êtes compté anonymement. Décochez pour refuser.');
  assert.equal(parts(widget({ lang: 'de' }).optoutEls[0]).text, 'Sie werden anonym gezählt. Abwählen zum Widersprechen.');
  assert.equal(parts(widget({ lang: 'it' }).optoutEls[0]).text, 'You are counted anonymously. Uncheck to opt out.');
});

test('with Do Not Track or GPC the box is unchecked and disabled', () => {
  for (const opts of [{ doNotTrack: '1' }, { globalPrivacyControl: true }]) {
    const { box, text } = parts(widget(opts).optoutEls[0]);
    assert.equal(box.checked, false);
    assert.equal(box.disabled, true);
    assert.equal(text, 'You are not counted.');
  }
});

test('waits for the DOM when loaded early, and never uses innerHTML or cookies', () => {
  const page = widget({ readyState: 'loading' });
  assert.equal(page.optoutEls[0].childNodes.length, 0);
  page.doc.dispatch('DOMContentLoaded');
  assert.equal(parts(page.optoutEls[0]).box.checked, true);
  assert.deepEqual(page.cookieWrites, []);
});

test('follows changes made in another tab', () => {
  const storage = {};
  const page = widget({ storage });
  storage.shade_optout = '1';
  page.win.dispatch('storage');
  assert.equal(parts(page.optoutEls[0]).box.checked, false);
});
