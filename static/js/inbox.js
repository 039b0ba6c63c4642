// The inbox page: live updates over a websocket, the thread's controls and the composer,
// as ES modules served as they are (static/js/inbox/). Server-rendered HTML arrives in
// events and is inserted as is; nothing is built here from customer text, so escaping stays
// with Django's templates.
import { changes, currentId, page, root } from "./inbox/common.js";
import { startComposer } from "./inbox/composer.js";
import { startInteractive } from "./inbox/interactive.js";
import * as list from "./inbox/list.js";
import { startShortcuts } from "./inbox/shortcuts.js";
import { connect, send, viewing } from "./inbox/socket.js";
import * as thread from "./inbox/thread.js";

const handlers = {
  "message.created"(data) {
    if (data.conversation_id === currentId) {
      thread.placeInThread(data.html);
      if (data.direction === "in") thread.markRead();
    }
    const mine = data.assignee_id === page.me;
    const looking = data.conversation_id === currentId && !document.hidden;
    if (data.direction === "in" && mine && !looking) list.notify(data.contact, data.preview, data.conversation_id);
  },
  "message.updated"(data) {
    if (data.conversation_id === currentId) thread.placeInThread(data.html);
  },
  "message.statuses"(data) {
    // One event per workspace and batch of statuses: the ticks of the conversation on screen.
    const shown = data.conversations.find((conversation) => conversation.conversation_id === currentId);
    if (shown) thread.moveTicks(shown.messages.map((moved) => ({ ...moved, ticks_html: data.ticks_html[moved.status] })));
  },
  "note.created"(data) {
    if (data.conversation_id === currentId) thread.placeInThread(data.html);
  },
  "conversation.updated"(data) {
    list.refreshCounts();
    changes.mark("conversations");
    changes.mark("conversation-meta");
    list.placeConversation(data);
    thread.showConversation(data);
  },
  "label.deleted"(data) {
    // The label is off every conversation: its chips, its menu entry and its filter option go.
    const id = String(data.label_id);
    changes.mark("conversations");
    changes.mark("conversation-meta");
    document.querySelectorAll(`[data-label-id="${id}"], #filter-label option[value="${id}"]`).forEach((element) => element.remove());
    list.removeLabel(id);
  },
  notification(data) {
    list.notify("You were mentioned", data.text, data.conversation_id);
  },
  presence(data) {
    list.sawViewer(data);
    if (data.hello && data.user_id !== page.me) send(viewing());
  },
};

// On every connection, events may have been missed: take the lists from the server again.
async function resynchronise() {
  const fetchedAt = changes.count;
  const response = await fetch(window.location.href, { credentials: "same-origin" });
  if (!response.ok) return;
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  for (const id of ["conversations", "conversation-meta"]) {
    const newer = fresh.getElementById(id);
    const stale = document.getElementById(id);
    // Only what changed is replaced: the thread keeps its scroll and its #message target.
    if (changes.since(id, fetchedAt)) continue;
    if (newer && stale && newer.innerHTML !== stale.innerHTML) stale.replaceChildren(...newer.childNodes);
  }
  const threadChanged = thread.mergeThread(fresh.getElementById("messages"), fetchedAt);
  list.markCurrent();
  list.updateTitle();
  if (threadChanged && !window.location.hash) thread.scrollThreadToEnd();
  document.dispatchEvent(new CustomEvent("inbox:resynchronised", { detail: fresh }));
}

// A link to a message as #message-<id> alone (an older bookmark) opens the page that holds it.
function pageHoldingLinkedMessage() {
  const wanted = window.location.hash.match(/^#message-(\d+)$/);
  const here = new URL(window.location.href);
  if (!wanted || !document.getElementById("messages") || document.getElementById(`message-${wanted[1]}`)) return null;
  if (here.searchParams.has("at")) return null;
  here.searchParams.delete("before");
  here.searchParams.set("at", wanted[1]);
  return here.href;
}

function start() {
  const elsewhere = pageHoldingLinkedMessage();
  if (elsewhere) {
    window.location.replace(elsewhere);
    return;
  }
  list.startList();
  thread.startThread();
  startComposer();
  startInteractive();
  startShortcuts();
  document.addEventListener("visibilitychange", () => {
    thread.markRead();
    send(viewing());
  });
  connect(handlers, resynchronise);
}

if (root) start();
