// Progressive enhancement only: every page works without this module.

// The range form submits itself when a named period is picked; the custom
// date inputs show only for a custom range.
const period = document.getElementById("period");
if (period) {
  const form = period.form;
  form.classList.add("js");
  const sync = () => form.classList.toggle("is-custom", period.value === "custom");
  sync();
  period.addEventListener("change", () => {
    sync();
    if (period.value !== "custom") form.requestSubmit();
  });
}

// Copy buttons copy the text of the element they name.
for (const button of document.querySelectorAll("button.copy")) {
  button.addEventListener("click", async () => {
    const source = document.getElementById(button.dataset.copy);
    if (!source) return;
    try {
      await navigator.clipboard.writeText(source.textContent.trim());
      button.textContent = "Copied";
    } catch {
      const range = document.createRange();
      range.selectNodeContents(source);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      button.textContent = "Press Ctrl+C";
    }
  });
}

// The current-visitors count refreshes from the Stats API every 30 seconds.
const current = document.getElementById("current");
if (current && current.dataset.site) {
  const url = "/api/v1/stats/realtime/visitors?site_id=" + encodeURIComponent(current.dataset.site);
  setInterval(async () => {
    try {
      const res = await fetch(url, { credentials: "same-origin" });
      if (res.ok) current.textContent = String(await res.json());
    } catch {
      // Offline for a moment: keep the last count.
    }
  }, 30000);
}
