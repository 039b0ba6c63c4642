// Interactive messages from the composer: reply buttons, a list, a link button, a location
// or a location request, filled in a dialog. Only the chosen kind's fields are sent; an
// error names its field, which is marked and focused.
import { csrfToken } from "./common.js";
import { placeInThread } from "./thread.js";

const dialog = document.getElementById("interactive-dialog");

function showKind(form) {
  const kind = form.elements.kind.value;
  form.querySelectorAll("fieldset[data-kinds]").forEach((fieldset) => {
    const shown = fieldset.dataset.kinds.split(" ").includes(kind);
    fieldset.hidden = !shown;
    fieldset.disabled = !shown; // a disabled fieldset's fields are not sent
  });
}

function showProblem(form, text, field) {
  const box = document.getElementById("interactive-error");
  box.textContent = text;
  box.hidden = !text;
  form.querySelectorAll("[aria-invalid]").forEach((input) => input.removeAttribute("aria-invalid"));
  const input = field && form.querySelector(`fieldset:not([disabled]) [name="${field}"]`);
  if (input) {
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }
}

async function send(form) {
  const button = document.getElementById("interactive-send");
  button.disabled = true;
  const response = await fetch(form.action, {
    method: "POST",
    headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    body: new FormData(form),
    credentials: "same-origin",
  }).catch(() => null);
  button.disabled = false;
  const answer = response ? await response.json().catch(() => ({})) : {};
  if (!response || !response.ok) {
    showProblem(form, answer.error || "The message could not be sent. Try again.", answer.field);
    return;
  }
  form.reset();
  showKind(form);
  showProblem(form, "");
  dialog.close();
  if (answer.html) placeInThread(answer.html, { onlyIfNew: true });
}

export function startInteractive() {
  const open = document.getElementById("interactive-open");
  if (!dialog || !open) return;
  const form = document.getElementById("interactive-form");
  open.addEventListener("click", () => {
    showKind(form);
    dialog.showModal();
    form.elements.kind.focus();
  });
  form.elements.kind.addEventListener("change", () => showKind(form));
  document.getElementById("interactive-cancel").addEventListener("click", () => dialog.close());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send(form);
  });
}
