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

// Check-in: where the browser can read QR codes (BarcodeDetector) and has a camera, the organiser
// scans the participant's code; the field takes it by hand everywhere.
document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("scan");
  if (!button || !("BarcodeDetector" in window) || !navigator.mediaDevices) return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    const video = document.getElementById("camera");
    const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    const look = async () => {
      const found = await detector.detect(video);
      if (found.length === 0) return setTimeout(look, 250);
      stream.getTracks().forEach((track) => track.stop());
      document.getElementById("code").value = found[0].rawValue;
      button.form.requestSubmit();
    };
    look();
  });
});
