// The simulated customer's phone: send as the customer (text, files, a location, a contact,
// reactions, taps on the business's buttons and lists), and show the chat as it stands, with
// the business's read receipts and "typing…".
(function () {
  "use strict";
  const form = document.getElementById("simulator-form");
  if (!form) return;
  const thread = document.getElementById("sim-thread");
  const errorBox = document.getElementById("sim-error");
  const text = document.getElementById("sim-text");
  const file = document.getElementById("sim-file");
  const attachment = document.getElementById("sim-attachment");
  const status = document.getElementById("sim-status");
  let shown = "";

  async function refresh() {
    const params = new URLSearchParams({
      phone_number_id: document.getElementById("sim-number").value,
      wa_id: document.getElementById("sim-wa-id").value.replace(/\D/g, ""),
    });
    const response = await fetch(`${form.dataset.threadUrl}?${params}`).catch(() => null);
    if (!response || !response.ok) return;
    const answer = await response.json();
    status.textContent = answer.typing ? "typing…" : "You are the customer";
    if (answer.html === shown) return; // keeps an open list and the focus where they are
    shown = answer.html;
    const atEnd = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 60;
    thread.innerHTML = answer.html;
    if (atEnd) thread.scrollTop = thread.scrollHeight;
  }

  // Sends what the phone's form holds, with these fields on top.
  async function send(fields = {}) {
    errorBox.hidden = true;
    const body = new FormData(form);
    if (fields.kind) body.delete("file");
    for (const [name, value] of Object.entries(fields)) body.set(name, value);
    const response = await fetch(form.action, { method: "POST", body }).catch(() => null);
    if (!response || !response.ok) {
      const answer = response ? await response.json().catch(() => ({})) : {};
      errorBox.textContent = answer.error || "The message could not be sent. Try again.";
      errorBox.hidden = false;
      return false;
    }
    setTimeout(refresh, 300);
    return true;
  }

  function clearFile() {
    file.value = "";
    attachment.hidden = true;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!text.value.trim() && !file.files.length) return;
    if (await send()) {
      text.value = "";
      clearFile();
    }
  });

  file.addEventListener("change", () => {
    if (!file.files.length) return clearFile();
    document.getElementById("sim-attachment-name").textContent = `📎 ${file.files[0].name}`;
    attachment.hidden = false;
  });
  document.getElementById("sim-attachment-remove").addEventListener("click", clearFile);

  // Location and contact, the business's buttons and list rows, reactions: one click each.
  form.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button || button.type === "submit") return;
    if (button.dataset.kind) send({ kind: button.dataset.kind });
    else if (button.dataset.choice) send({ kind: "reply", wamid: button.dataset.wamid, choice: button.dataset.choice });
    else if (button.dataset.emoji) send({ kind: "reaction", wamid: button.dataset.wamid, emoji: button.dataset.emoji });
  });

  refresh();
  setInterval(refresh, 1500);
})();
