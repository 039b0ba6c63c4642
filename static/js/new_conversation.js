// The new conversation page: the template form (template_form.js) does the fields, the
// live preview and the send. Here: a template already chosen in the URL (?template=) is
// picked, and the number typed is looked up, so the agent knows before filling anything
// whether the customer is new, known, or inside their 24-hour window (then the thread
// opens instead, and no template is needed).
import "./template_form.js";

const form = document.getElementById("new-conversation");
const select = document.getElementById("template-select");
const chosen = new URLSearchParams(window.location.search).get("template");
if (chosen && select && select.querySelector(`option[value="${CSS.escape(chosen)}"]`)) {
  select.value = chosen;
  select.dispatchEvent(new Event("change"));
}

const to = document.getElementById("to");
const number = document.getElementById("phone-number");
const status = document.getElementById("to-status");
let asked = 0;

async function lookUp() {
  const query = new URLSearchParams({ to: to.value });
  if (number) query.set("phone_number", number.value);
  const mine = ++asked;
  const response = await fetch(`${form.dataset.lookupUrl}?${query}`, { headers: { Accept: "application/json" } });
  const answer = await response.json().catch(() => ({}));
  if (mine !== asked) return; // a later lookup answers for what is typed now
  status.replaceChildren();
  status.classList.toggle("error", !response.ok);
  if (!response.ok) {
    status.textContent = answer.error || "";
  } else if (answer.window_open) {
    const link = document.createElement("a");
    link.href = answer.conversation_url;
    link.id = "open-window-link";
    link.textContent = "Open the conversation";
    status.append(`${answer.name} wrote in the last 24 hours: no template is needed. `, link);
  } else if (answer.conversation_url) {
    status.textContent = `${answer.name}: the template goes into your conversation with them.`;
  } else {
    status.textContent = `+${answer.wa_id} is new here: a contact and a conversation are made when you send.`;
  }
  status.hidden = false;
}

// Typing a name (or the start of a number) suggests the workspace's contacts that match.
const suggestions = document.getElementById("contact-choices");
let suggested = 0;
let pause = null;

async function suggest() {
  const typed = to.value.trim();
  if (typed.length < 2) return;
  const mine = ++suggested;
  const query = new URLSearchParams({ q: typed });
  const response = await fetch(`${form.dataset.contactsUrl}?${query}`, { headers: { Accept: "application/json" } });
  const answer = await response.json().catch(() => ({ contacts: [] }));
  if (mine !== suggested || !response.ok) return;
  suggestions.replaceChildren(
    ...answer.contacts.map((contact) => {
      const option = document.createElement("option");
      option.value = contact.phone;
      option.textContent = contact.name;
      return option;
    })
  );
}

if (form && to && status) {
  to.addEventListener("input", () => {
    clearTimeout(pause);
    pause = setTimeout(suggest, 250);
  });
  to.addEventListener("change", lookUp);
  if (number) number.addEventListener("change", () => to.value && lookUp());
  if (to.value) lookUp();
}
