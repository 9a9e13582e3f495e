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

// Check-in: the organiser scans the participant's QR code with the device's camera, read by the
// browser's own BarcodeDetector where it reads QR codes, else by jsQR (vendored) from the video's
// frames; the field takes the code by hand everywhere.
async function qrReader(video) {
  const formats = "BarcodeDetector" in window ? await window.BarcodeDetector.getSupportedFormats() : [];
  if (formats.includes("qr_code")) {
    const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    return async () => (await detector.detect(video)).map((found) => found.rawValue)[0];
  }
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  return async () => {
    if (!video.videoWidth) return undefined;
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    context.drawImage(video, 0, 0);
    const frame = context.getImageData(0, 0, canvas.width, canvas.height);
    const found = window.jsQR(frame.data, frame.width, frame.height, { inversionAttempts: "dontInvert" });
    return found ? found.data : undefined;
  };
}

document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("scan");
  if (!button || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    const video = document.getElementById("camera");
    const problem = document.getElementById("scan-problem");
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    } catch (error) {
      problem.hidden = false;  // no camera, or not allowed: the code is typed instead
      return;
    }
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    const read = await qrReader(video);
    const look = async () => {
      const code = await read();
      if (!code) return setTimeout(look, 200);
      stream.getTracks().forEach((track) => track.stop());
      video.hidden = true;
      document.getElementById("code").value = code;
      button.form.requestSubmit();
    };
    look();
  });
});
