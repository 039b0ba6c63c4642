// What the inbox's modules share: the page's data, the server's HTML as elements, POSTs
// with the CSRF token, the composer's error line, and the count of live events heard.

export const root = document.querySelector("main.inbox");
export const page = root ? JSON.parse(document.getElementById("inbox-data").textContent) : {};
export const slug = root ? root.dataset.tenant : "";
export const currentId = root && root.dataset.conversationId ? Number(root.dataset.conversationId) : null;
export const conversationUrl = (id) => `/t/${slug}/inbox/c/${id}/`;

export function fragment(html) {
  const template = document.createElement("template");
  template.innerHTML = html.trim();
  return template.content.firstElementChild;
}

export function csrfToken() {
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (input) return input.value;
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export async function post(url, fields = {}) {
  const body = new FormData();
  for (const [name, value] of Object.entries(fields)) {
    if (Array.isArray(value)) value.forEach((item) => body.append(name, item));
    else body.append(name, value);
  }
  // An empty multipart body is malformed: send none at all when there are no fields.
  const response = await fetch(url, {
    method: "POST",
    headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    body: Object.keys(fields).length ? body : undefined,
    credentials: "same-origin",
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) showError(answer.error || "That did not work. Try again.");
  return response.ok ? answer : null;
}

export function showError(text) {
  const box = document.getElementById("composer-error");
  if (!box) {
    if (text) window.alert(text);
    return;
  }
  box.textContent = text;
  box.hidden = !text;
}

// What live events changed, by the count of events heard so far: a resync's copy of the
// page fetched before an event must not put back what that event replaced.
let eventCount = 0;
const changedAt = new Map(); // element id -> event count

export const changes = {
  heard() {
    eventCount += 1;
  },
  get count() {
    return eventCount;
  },
  mark(id) {
    changedAt.set(id, eventCount);
  },
  since(id, count) {
    return (changedAt.get(id) || 0) > count;
  },
};
