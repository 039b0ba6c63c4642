// The open conversation: its messages in time order with ticks that only move forward,
// earlier pages loaded in place, the controls (status, assignee, labels), reactions,
// "Send again", and the photo viewer.
import { changes, conversationUrl, csrfToken, currentId, fragment, post } from "./common.js";
import { moveOn } from "./list.js";

const thread = document.getElementById("messages");

// Ticks only move forward, whatever order the page hears about them in.
const STATUS_RANK = { queued: 0, sending: 1, sent: 2, delivered: 3, read: 4, failed: 9 };
// Reactions, edits and deletions show on the message they change, never as messages.
const FOLLOWUP_TYPES = ["reaction", "edit", "revoke"];

export function scrollThreadToEnd() {
  if (thread) thread.scrollTop = thread.scrollHeight;
}

function replaceItem(existing, element) {
  const before = existing.dataset.status;
  const after = element.dataset.status;
  // Once sent, a message never goes back (ticks only move forward, and failed is final);
  // a failed message goes back to queued when it is sent again, and a queued one may wait.
  const movesBack = before !== "failed" && after !== "failed" && STATUS_RANK[after] < STATUS_RANK[before];
  if (STATUS_RANK[before] >= STATUS_RANK.sent && before !== "failed" && movesBack) return false;
  existing.replaceWith(element);
  return true;
}

// Ticks that moved, several messages of the open conversation at once (a batch of Meta's
// statuses): only forward, and a failed message waits for "Send again".
export function moveTicks(moved) {
  for (const { message_id: id, status, wamid, ticks_html: ticksHtml } of moved) {
    const existing = document.getElementById(`message-${id}`);
    const before = existing && existing.dataset.status;
    if (!existing || before === "failed" || STATUS_RANK[status] <= STATUS_RANK[before]) continue;
    const ticks = existing.querySelector(".ticks");
    if (ticks) ticks.replaceWith(fragment(ticksHtml));
    // Sent: WhatsApp has it now (its actions show), and nothing holds it back any more.
    if (wamid) existing.dataset.wamid = wamid;
    existing.querySelector(".waiting")?.remove();
    existing.dataset.status = status;
    changes.mark(existing.id);
  }
}

// Messages and notes sit in time order (Meta's time for messages), not arrival order.
// `onlyIfNew` is for the sender's own answer to a POST: it shows the message as it was when
// queued, and the live events (a send that failed, its ticks) may have come before it; they
// are newer, so it never replaces them.
export function placeInThread(html, { onlyIfNew = false } = {}) {
  if (!thread) return;
  const element = fragment(html);
  if (FOLLOWUP_TYPES.includes(element.dataset.type)) return;
  changes.mark(element.id);
  const existing = document.getElementById(element.id);
  if (existing) {
    if (!onlyIfNew) replaceItem(existing, element);
    return;
  }
  // An older page of the thread (?before=, ?at=) takes no new messages: they belong to a
  // later page, which its link shows.
  if (document.getElementById("thread-later")) return;
  const atEnd = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 80;
  const later = insertInOrder(element);
  if (atEnd || !later) scrollThreadToEnd();
}

// Returns the item the element went before, if any.
function insertInOrder(element) {
  const later = Array.from(thread.children).find((other) => other.dataset.timestamp > element.dataset.timestamp);
  thread.insertBefore(element, later || null);
  return later;
}

// Earlier messages: the page shows the thread's latest messages; older pages load in place
// when the agent scrolls to the top or follows the link (which works without script).
let loadingEarlier = false;

async function loadEarlier() {
  const pager = document.getElementById("thread-earlier");
  if (!pager || loadingEarlier) return;
  loadingEarlier = true;
  const response = await fetch(pager.querySelector("a").href, { credentials: "same-origin" }).catch(() => null);
  const html = response && response.ok ? await response.text() : null;
  loadingEarlier = false;
  const older = html && new DOMParser().parseFromString(html, "text/html").getElementById("messages");
  if (!older) return;
  const fromBottom = thread.scrollHeight - thread.scrollTop;
  pager.remove();
  // The older page's own earlier link comes along; its link to later pages does not.
  const items = Array.from(older.children).filter((item) => item.id !== "thread-later" && !document.getElementById(item.id));
  thread.prepend(...items);
  thread.scrollTop = thread.scrollHeight - fromBottom;
}

// After a reconnect: the fresh page's items replace those that changed and join the thread
// in order, so earlier pages loaded in place stay. When the fresh page does not reach back
// to what is shown (many messages were missed), it replaces the thread.
export function mergeThread(fresh, fetchedAt) {
  if (!thread || !fresh) return false;
  const items = Array.from(fresh.children).filter((item) => item.dataset.timestamp);
  if (fresh.querySelector("#thread-earlier") && items.length && !document.getElementById(items[0].id)) {
    thread.replaceChildren(...fresh.childNodes);
    return true;
  }
  let changed = false;
  for (const item of items.filter((each) => !changes.since(each.id, fetchedAt))) {
    const existing = document.getElementById(item.id);
    if (existing && existing.outerHTML === item.outerHTML) continue;
    if (existing) changed = replaceItem(existing, item) || changed;
    else {
      insertInOrder(item);
      changed = true;
    }
  }
  return changed;
}

export function markRead() {
  if (!currentId || document.hidden) return;
  fetch(`${conversationUrl(currentId)}read/`, {
    method: "POST",
    headers: { "X-CSRFToken": csrfToken() },
    credentials: "same-origin",
  });
}

// --- The thread's controls -----------------------------------------------------------

const SNOOZES = { "snooze-hour": "hour", "snooze-tomorrow": "tomorrow", "snooze-week": "week" };
const STATUS_NAMES = { open: "Open", pending: "Pending", snoozed: "Snoozed", resolved: "Resolved" };

export async function setStatus(value) {
  if (!currentId) return;
  const fields = SNOOZES[value] ? { status: "snoozed", snooze: SNOOZES[value] } : { status: value };
  const answer = await post(`${conversationUrl(currentId)}status/`, fields);
  if (answer && ["resolved", "snoozed"].includes(answer.status) && filterStatus() !== answer.status) moveOn();
  return answer;
}

function filterStatus() {
  return new URLSearchParams(window.location.search).get("status") || "open";
}

export function assignTo(value) {
  if (currentId) return post(`${conversationUrl(currentId)}assign/`, { assignee: value });
}

function showStatusButtons(status) {
  const resolve = document.querySelector("[data-action=resolve]");
  const reopen = document.querySelector("[data-action=reopen]");
  if (resolve) resolve.hidden = status === "resolved";
  if (reopen) reopen.hidden = status === "open";
}

/** A conversation changed: the contact panel's entry, and the header when it is this one. */
export function showConversation(data) {
  // The contact panel lists the contact's conversations with their status.
  const entry = document.querySelector(`.contact-panel li[data-conversation-id="${data.conversation_id}"] .status-name`);
  if (entry) entry.textContent = STATUS_NAMES[data.status] || data.status;
  if (data.conversation_id !== currentId) return;
  const meta = document.getElementById("conversation-meta");
  if (meta) meta.replaceWith(fragment(data.meta_html));
  const status = document.getElementById("status-select");
  if (status) status.value = data.status === "snoozed" ? status.value : data.status;
  showStatusButtons(data.status);
  const assignee = document.getElementById("assign-select");
  if (assignee) assignee.value = data.assignee_id ? String(data.assignee_id) : "";
}

function startControls() {
  const controls = document.querySelector(".thread-controls");
  if (!controls) return;
  controls.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    if (button.dataset.action === "assign-me") assignTo("me");
    if (button.dataset.action === "resolve") setStatus("resolved");
    if (button.dataset.action === "reopen") setStatus("open");
    if (button.dataset.labelId) post(`${conversationUrl(currentId)}labels/${button.dataset.labelId}/`);
  });
  controls.addEventListener("change", (event) => {
    if (event.target.dataset.action === "status") setStatus(event.target.value);
    if (event.target.dataset.action === "assign") assignTo(event.target.value);
  });
}

// --- Messages: react, send again ----------------------------------------------------

function startMessageActions() {
  const picker = document.getElementById("reaction-picker");
  let reactingTo = null;
  thread.addEventListener("click", async (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    if (button.classList.contains("resend")) {
      button.disabled = true;
      if (!(await post(button.dataset.url))) button.disabled = false;
    } else if (button.dataset.action === "react") {
      reactingTo = button.dataset.messageId;
      picker.hidden = false;
      const box = button.getBoundingClientRect();
      picker.style.setProperty("--picker-top", `${box.bottom + 4}px`);
      picker.style.setProperty("--picker-left", `${box.left}px`);
    }
  });
  if (!picker) return;
  picker.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-emoji]");
    if (!button || !reactingTo) return;
    post(`${conversationUrl(currentId)}m/${reactingTo}/react/`, { emoji: button.dataset.emoji });
    picker.hidden = true;
    reactingTo = null;
  });
  document.addEventListener("click", (event) => {
    if (!picker.hidden && !event.target.closest("#reaction-picker, [data-action=react]")) picker.hidden = true;
  });
}

// A photo opens full size in the page's viewer; a failed download can be retried. Both
// are delegated: a message's element is replaced whenever the message changes.
function startMediaViewer() {
  const viewer = document.getElementById("media-viewer");
  if (!viewer) return;
  thread.addEventListener("click", async (event) => {
    const thumb = event.target.closest(".media-thumb");
    if (thumb) {
      const image = document.getElementById("media-viewer-image");
      image.src = thumb.dataset.viewerSrc;
      image.alt = thumb.querySelector("img").alt;
      document.getElementById("media-viewer-download").href = `${thumb.dataset.viewerSrc}?download`;
      viewer.showModal();
      return;
    }
    const retry = event.target.closest("button.media-retry");
    if (!retry) return;
    retry.disabled = true;
    const response = await fetch(retry.dataset.url, {
      method: "POST",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
      credentials: "same-origin",
    }).catch(() => null);
    const body = response ? await response.json().catch(() => ({})) : {};
    if (body.html) placeInThread(body.html);
    else retry.disabled = false;
  });
  viewer.addEventListener("click", (event) => {
    if (event.target === viewer) viewer.close(); // a click on the backdrop
  });
}

export function startThread() {
  startControls();
  if (!thread) return;
  thread.addEventListener("click", (event) => {
    if (!event.target.closest("#thread-earlier a")) return;
    event.preventDefault();
    loadEarlier();
  });
  thread.addEventListener("scroll", () => {
    if (thread.scrollTop < 200) loadEarlier();
  });
  startMessageActions();
  startMediaViewer();
  scrollThreadToEnd();
}
