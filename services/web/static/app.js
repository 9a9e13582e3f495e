// The unread badge follows the inbox live: the app relays the notification service's stream.
document.addEventListener("DOMContentLoaded", () => {
  const badge = document.getElementById("unread");
  if (!badge || !window.EventSource) return;
  const stream = new EventSource("/inbox/stream");
  stream.addEventListener("unread", (event) => {
    const count = Number(event.data);
    badge.textContent = String(count);
    badge.hidden = count === 0;
    const label = count === 0 ? "" : badge.dataset.label.replace("{count}", String(count));
    badge.setAttribute("aria-label", label);
    document.dispatchEvent(new CustomEvent("inbox-changed"));
  });
});
