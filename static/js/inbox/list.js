// The conversation list: rows placed live in order and by the page's filters, the unread
// count in the tab's title, Mine / Unassigned / All counts, who is viewing what, and
// notifications for my conversations.
import { conversationUrl, currentId, fragment, page, slug } from "./common.js";

const list = document.getElementById("conversations");
const baseTitle = document.title;

export function updateTitle() {
  let unread = 0;
  list.querySelectorAll(".badge").forEach((badge) => {
    unread += Number(badge.textContent) || 0;
  });
  document.title = unread ? `(${unread}) ${baseTitle}` : baseTitle;
}

function matchesFilters(item) {
  const filters = page.filters;
  if (filters.status !== "all" && item.dataset.status !== filters.status) return false;
  if (filters.assignee === "mine" && item.dataset.assignee !== String(page.me)) return false;
  if (filters.assignee === "unassigned" && item.dataset.assignee !== "") return false;
  if (filters.label && !item.dataset.labels.split(",").includes(filters.label)) return false;
  if (filters.number && item.dataset.number !== filters.number) return false;
  if (filters.closing) {
    const closes = Date.parse(item.dataset.windowCloses || "");
    if (!(closes > Date.now() && closes - Date.now() < page.closing_soon_ms)) return false;
  }
  return true;
}

export function placeConversation(data) {
  const element = fragment(data.html);
  const existing = list.querySelector(`[data-conversation-id="${data.conversation_id}"]`);
  if (existing) existing.remove();
  if (data.conversation_id === currentId) element.classList.add("current");
  if (!matchesFilters(element) && data.conversation_id !== currentId) {
    updateTitle();
    return;
  }
  const empty = document.getElementById("no-conversations");
  if (empty) empty.remove();
  const later = Array.from(list.children).find((other) => other.dataset.lastActivity < element.dataset.lastActivity);
  // An older page of the list takes no conversation newer than its own: that one is on the first page.
  if (list.dataset.paged && later === list.firstElementChild) {
    updateTitle();
    return;
  }
  list.insertBefore(element, later || null);
  showViewers();
  updateTitle();
}

export function markCurrent() {
  if (!currentId) return;
  const item = list.querySelector(`[data-conversation-id="${currentId}"]`);
  if (item) item.classList.add("current");
}

export function removeLabel(id) {
  list.querySelectorAll(".conversation-item").forEach((item) => {
    item.dataset.labels = item.dataset.labels.split(",").filter((each) => each && each !== id).join(",");
  });
}

function items() {
  return Array.from(list.querySelectorAll(".conversation-item"));
}

/** Opens the conversation `step` rows below (or above) the current one. */
export function moveTo(step) {
  const rows = items();
  if (!rows.length) return;
  const index = rows.findIndex((item) => Number(item.dataset.conversationId) === currentId);
  const next = rows[Math.min(Math.max(index + step, 0), rows.length - 1)];
  if (next) window.location.href = next.href;
}

/** Done with this one: on to the next conversation of the list, as a queue is worked. */
export function moveOn() {
  const rows = items();
  const index = rows.findIndex((item) => Number(item.dataset.conversationId) === currentId);
  const next = rows[index + 1] || rows[index - 1];
  const listUrl = `/t/${slug}/inbox/${window.location.search}`;
  window.location.href = next ? `${next.getAttribute("href").split("?")[0]}${window.location.search}` : listUrl;
}

// Mine / Unassigned / All: each person's own counts, asked again (at most once a second)
// whenever a conversation changes.
let countsTimer = null;
export function refreshCounts() {
  if (countsTimer) return;
  countsTimer = setTimeout(async () => {
    countsTimer = null;
    const response = await fetch(`/t/${slug}/inbox/counts/${window.location.search}`, { credentials: "same-origin" });
    if (!response.ok) return;
    const counts = await response.json();
    for (const [name, count] of Object.entries(counts)) {
      const badge = document.querySelector(`.segmented [data-filter="${name}"] .count`);
      if (badge) badge.textContent = count;
    }
  }, 1000);
}

// --- Notifications: a sound and a browser notification for my conversations ------------

function beep() {
  try {
    const audio = new (window.AudioContext || window.webkitAudioContext)();
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.frequency.value = 880;
    gain.gain.setValueAtTime(0.08, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.35);
    tone.connect(gain).connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.35);
  } catch (error) {
    /* no sound: the tab title still counts unread messages */
  }
}

export function notify(title, body, conversationId) {
  beep();
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  const notification = new Notification(title, { body, tag: `conversation-${conversationId}` });
  notification.onclick = () => {
    window.focus();
    window.location.href = conversationUrl(conversationId);
  };
}

function offerNotifications() {
  if (!("Notification" in window) || Notification.permission !== "default") return;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "link small";
  button.textContent = "Enable notifications";
  button.addEventListener("click", () => Notification.requestPermission().then(() => button.remove()));
  document.querySelector(".list-header").appendChild(button);
}

// --- Presence: who is looking at which conversation ----------------------------------

const viewers = new Map(); // user id -> {name, conversationId, at}

export function sawViewer(data) {
  viewers.set(data.user_id, { name: data.name, conversationId: data.conversation_id, at: Date.now() });
  showViewers();
}

function showViewers() {
  const now = Date.now();
  const byConversation = new Map();
  for (const [userId, seen] of viewers) {
    if (now - seen.at > 45000) viewers.delete(userId);
    else if (userId !== page.me && seen.conversationId) {
      const names = byConversation.get(seen.conversationId) || [];
      names.push(seen.name);
      byConversation.set(seen.conversationId, names);
    }
  }
  document.querySelectorAll("[data-viewers-for]").forEach((slot) => {
    const names = byConversation.get(Number(slot.dataset.viewersFor)) || [];
    slot.textContent = names.length ? `👁 ${names.join(", ")}` : "";
    slot.title = names.length ? `${names.join(", ")} viewing now` : "";
  });
}

export function startList() {
  const filterForm = document.getElementById("filter-form");
  if (filterForm) filterForm.addEventListener("change", () => filterForm.submit());
  markCurrent();
  updateTitle();
  setInterval(showViewers, 15000);
  offerNotifications();
}
