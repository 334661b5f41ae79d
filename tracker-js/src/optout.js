// Shade opt-out checkbox, for the page that explains Shade to visitors
// (usually the privacy policy). It fills every <div data-shade-optout></div>
// with a labelled checkbox bound to the snippet's first-party opt-out flag.
// It is a script of its own so the snippet every page loads stays small:
// <script defer src="https://stats.example.com/shade-optout.js"></script>
((w, d) => {
  let nav = w.navigator;
  // Where the browser already says "don't track", the snippet counts
  // nothing: the box shows that, unchecked and disabled.
  let off = nav.doNotTrack == 1 || w.doNotTrack == 1 || nav.globalPrivacyControl === true;

  // The snippet's flag: localStorage.shade_optout == "1". Storage may be
  // blocked (reading it throws); then the choice cannot be kept.
  let store = {};
  try { store = w.localStorage || store; } catch (e) {}

  let texts = {
    fr: ['Vous êtes compté anonymement. Décochez pour refuser.', "Vous n'êtes pas compté."],
    de: ['Sie werden anonym gezählt. Abwählen zum Widersprechen.', 'Sie werden nicht gezählt.']
  }[d.documentElement.lang.slice(0, 2).toLowerCase()] ||
    ['You are counted anonymously. Uncheck to opt out.', 'You are not counted.'];

  // Plain DOM, no innerHTML: safe under strict CSP and Trusted Types.
  let boxes = [];
  let render = () => boxes.map(([box, text]) => {
    box.checked = !off && store.shade_optout != 1;
    box.disabled = off;
    text.data = ' ' + texts[box.checked ? 0 : 1];
  });
  let build = () => {
    d.querySelectorAll('[data-shade-optout]').forEach((el) => {
      let label = d.createElement('label');
      let box = d.createElement('input');
      let text = d.createTextNode('');
      box.type = 'checkbox';
      box.onchange = () => {
        box.checked ? delete store.shade_optout : store.shade_optout = 1;
        render();
      };
      label.append(box, text);
      el.append(label);
      boxes.push([box, text]);
    });
    render();
  };
  // Another tab (or shade.optOut() there) changed the flag.
  w.addEventListener('storage', render);
  d.readyState == 'loading' ? d.addEventListener('DOMContentLoaded', build) : build();
})(window, document);
