// The simulated customer's phone: send as the customer, and show the chat as it stands.
(function () {
  "use strict";
  const form = document.getElementById("simulator-form");
  if (!form) return;
  const thread = document.getElementById("sim-thread");
  const errorBox = document.getElementById("sim-error");
  const text = document.getElementById("sim-text");

  async function refresh() {
    const params = new URLSearchParams({
      phone_number_id: document.getElementById("sim-number").value,
      wa_id: document.getElementById("sim-wa-id").value.replace(/\D/g, ""),
    });
    const response = await fetch(`${form.dataset.threadUrl}?${params}`);
    if (!response.ok) return;
    const atEnd = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 60;
    thread.innerHTML = await response.text();
    if (atEnd) thread.scrollTop = thread.scrollHeight;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!text.value.trim()) return;
    errorBox.hidden = true;
    const response = await fetch(form.action, { method: "POST", body: new FormData(form) });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      errorBox.textContent = body.error || `The webhook answered ${body.webhook_status || response.status}.`;
      errorBox.hidden = false;
      return;
    }
    text.value = "";
    setTimeout(refresh, 300);
  });

  refresh();
  setInterval(refresh, 1500);
})();
