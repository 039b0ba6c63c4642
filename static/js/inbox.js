// The inbox page: live updates over a websocket, and the composer.
// Server-rendered HTML arrives in events and is inserted as is; nothing is built here
// from customer text, so escaping stays with Django's templates.
(function () {
  "use strict";

  const root = document.querySelector("main.inbox");
  if (!root) return;
  const slug = root.dataset.tenant;
  const currentId = root.dataset.conversationId ? Number(root.dataset.conversationId) : null;
  const list = document.getElementById("conversations");
  const thread = document.getElementById("messages");
  const liveState = document.getElementById("live-state");
  const composer = document.getElementById("composer");
  const baseTitle = document.title;

  function fragment(html) {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function scrollThreadToEnd() {
    if (thread) thread.scrollTop = thread.scrollHeight;
  }

  function updateTitle() {
    let unread = 0;
    document.querySelectorAll("#conversations .badge").forEach((badge) => {
      unread += Number(badge.textContent) || 0;
    });
    document.title = unread ? `(${unread}) ${baseTitle}` : baseTitle;
  }

  // Ticks only move forward, whatever order the page hears about them in.
  const STATUS_RANK = { queued: 0, sending: 1, sent: 2, delivered: 3, read: 4, failed: 9 };

  // Messages sit in Meta's time order, not arrival order.
  function placeMessage(html) {
    const element = fragment(html);
    const existing = document.getElementById(element.id);
    if (existing) {
      const before = STATUS_RANK[existing.dataset.status] ?? 0;
      const after = STATUS_RANK[element.dataset.status] ?? 0;
      // A queued message may go back to queued to wait; once sent, it never goes back.
      if (before >= STATUS_RANK.sent && after < before) return;
      existing.replaceWith(element);
      return;
    }
    const atEnd = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 80;
    const later = Array.from(thread.children).find(
      (other) => other.dataset.timestamp > element.dataset.timestamp
    );
    thread.insertBefore(element, later || null);
    if (atEnd || !later) scrollThreadToEnd();
  }

  function placeConversation(data) {
    const element = fragment(data.html);
    if (data.conversation_id === currentId) element.classList.add("current");
    const existing = list.querySelector(`[data-conversation-id="${data.conversation_id}"]`);
    if (existing) existing.remove();
    const empty = document.getElementById("no-conversations");
    if (empty) empty.remove();
    const later = Array.from(list.children).find(
      (other) => other.dataset.lastActivity < element.dataset.lastActivity
    );
    list.insertBefore(element, later || null);
    updateTitle();
  }

  function markRead() {
    if (!currentId || document.hidden) return;
    fetch(`/t/${slug}/inbox/c/${currentId}/read/`, {
      method: "POST",
      headers: { "X-CSRFToken": csrfToken() },
      credentials: "same-origin",
    });
  }

  const handlers = {
    "message.created"(data) {
      if (data.conversation_id !== currentId) return;
      placeMessage(data.html);
      if (data.direction === "in") markRead();
    },
    "message.updated"(data) {
      if (data.conversation_id === currentId) placeMessage(data.html);
    },
    "conversation.updated"(data) {
      placeConversation(data);
    },
  };

  // After a reconnect, events may have been missed: take the lists from the server again.
  async function resynchronise() {
    const response = await fetch(window.location.href, { credentials: "same-origin" });
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    for (const id of ["conversations", "messages"]) {
      const fresh = page.getElementById(id);
      const stale = document.getElementById(id);
      if (fresh && stale) stale.replaceChildren(...fresh.childNodes);
    }
    markCurrent();
    updateTitle();
    scrollThreadToEnd();
    document.dispatchEvent(new CustomEvent("inbox:resynchronised", { detail: page }));
  }

  let socket = null;
  let attempts = 0;
  let pinger = null;

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${window.location.host}/ws/t/${slug}/`);
    socket.addEventListener("open", () => {
      if (attempts > 0) resynchronise();
      attempts = 0;
      liveState.classList.add("connected");
      liveState.title = "Live";
      root.dataset.live = "true";
      pinger = setInterval(() => socket.send(JSON.stringify({ type: "ping" })), 25000);
    });
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      const handler = handlers[message.event];
      if (handler) handler(message.data);
      // Other scripts on the page (contacts.js) listen for their own events.
      document.dispatchEvent(new CustomEvent("inbox:event", { detail: message }));
    });
    socket.addEventListener("close", (event) => {
      clearInterval(pinger);
      liveState.classList.remove("connected");
      liveState.title = "Reconnecting…";
      root.dataset.live = "false";
      if (event.code === 4403) return; // not allowed: retrying will not help
      attempts += 1;
      setTimeout(connect, Math.min(1000 * 2 ** attempts, 15000));
    });
  }

  function markCurrent() {
    if (!currentId) return;
    const item = list.querySelector(`[data-conversation-id="${currentId}"]`);
    if (item) item.classList.add("current");
  }

  async function send(event) {
    event.preventDefault();
    const textarea = document.getElementById("composer-text");
    const errorBox = document.getElementById("composer-error");
    const text = textarea.value;
    if (!text.trim()) return;
    errorBox.hidden = true;
    const response = await fetch(composer.action, {
      method: "POST",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: new FormData(composer),
      credentials: "same-origin",
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      errorBox.textContent = body.error || "The message could not be queued. Try again.";
      errorBox.hidden = false;
      return;
    }
    textarea.value = "";
    autosize(textarea);
    if (body.html) placeMessage(body.html);
  }

  function autosize(textarea) {
    textarea.style.height = "auto";
    textarea.style.height = `${Math.min(textarea.scrollHeight, 200)}px`;
  }

  if (composer) {
    const textarea = document.getElementById("composer-text");
    composer.addEventListener("submit", send);
    if (textarea) {
      textarea.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          composer.requestSubmit();
        }
      });
      textarea.addEventListener("input", () => autosize(textarea));
    }
  }

  // "Send again" on a failed message (the fragment has no form: it is rendered for events too).
  if (thread) {
    thread.addEventListener("click", async (event) => {
      const button = event.target.closest("button.resend");
      if (!button) return;
      button.disabled = true;
      const response = await fetch(button.dataset.url, {
        method: "POST",
        headers: { "X-CSRFToken": csrfToken() },
        credentials: "same-origin",
      });
      if (!response.ok) button.disabled = false;
    });
  }

  document.addEventListener("visibilitychange", markRead);
  markCurrent();
  updateTitle();
  scrollThreadToEnd();
  connect();
})();
