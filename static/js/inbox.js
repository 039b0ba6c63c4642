// The inbox page: live updates over a websocket, the thread's controls and the composer.
// Server-rendered HTML arrives in events and is inserted as is; nothing is built here from
// customer text, so escaping stays with Django's templates.
(function () {
  "use strict";

  const root = document.querySelector("main.inbox");
  if (!root) return;
  const page = JSON.parse(document.getElementById("inbox-data").textContent);
  const slug = root.dataset.tenant;
  const currentId = root.dataset.conversationId ? Number(root.dataset.conversationId) : null;
  const list = document.getElementById("conversations");
  const thread = document.getElementById("messages");
  const liveState = document.getElementById("live-state");
  const composer = document.getElementById("composer");
  const controls = document.querySelector(".thread-controls");
  const baseTitle = document.title;
  const conversationUrl = (id) => `/t/${slug}/inbox/c/${id}/`;

  // Ticks only move forward, whatever order the page hears about them in.
  const STATUS_RANK = { queued: 0, sending: 1, sent: 2, delivered: 3, read: 4, failed: 9 };
  // Reactions, edits and deletions show on the message they change, never as messages.
  const FOLLOWUP_TYPES = ["reaction", "edit", "revoke"];

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

  async function post(url, fields = {}) {
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

  function showError(text) {
    const box = document.getElementById("composer-error");
    if (!box) return window.alert(text);
    box.textContent = text;
    box.hidden = false;
  }

  function scrollThreadToEnd() {
    if (thread) thread.scrollTop = thread.scrollHeight;
  }

  function updateTitle() {
    let unread = 0;
    list.querySelectorAll(".badge").forEach((badge) => {
      unread += Number(badge.textContent) || 0;
    });
    document.title = unread ? `(${unread}) ${baseTitle}` : baseTitle;
  }

  // What live events changed, by the count of events heard so far: a resync's copy of the
  // page fetched before an event must not put back what that event replaced.
  let eventCount = 0;
  const changedAt = new Map(); // element id -> event count

  function changedSince(id, count) {
    return (changedAt.get(id) || 0) > count;
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

  // Messages and notes sit in time order (Meta's time for messages), not arrival order.
  function placeInThread(html) {
    if (!thread) return;
    const element = fragment(html);
    if (FOLLOWUP_TYPES.includes(element.dataset.type)) return;
    changedAt.set(element.id, eventCount);
    const existing = document.getElementById(element.id);
    if (existing) {
      replaceItem(existing, element);
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

  // --- Earlier messages: the page shows the thread's latest messages; older pages load in
  // place when the agent scrolls to the top or follows the link (which works without script).

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

  if (thread) {
    thread.addEventListener("click", (event) => {
      if (!event.target.closest("#thread-earlier a")) return;
      event.preventDefault();
      loadEarlier();
    });
    thread.addEventListener("scroll", () => {
      if (thread.scrollTop < 200) loadEarlier();
    });
  }

  // After a reconnect: the fresh page's items replace those that changed and join the thread
  // in order, so earlier pages loaded in place stay. When the fresh page does not reach back
  // to what is shown (many messages were missed), it replaces the thread.
  function mergeThread(fresh, fetchedAt) {
    const items = Array.from(fresh.children).filter((item) => item.dataset.timestamp);
    if (fresh.querySelector("#thread-earlier") && items.length && !document.getElementById(items[0].id)) {
      thread.replaceChildren(...fresh.childNodes);
      return true;
    }
    let changed = false;
    for (const item of items.filter((each) => !changedSince(each.id, fetchedAt))) {
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

  // --- The conversation list -----------------------------------------------------------

  function matchesFilters(item) {
    const filters = page.filters;
    if (filters.status !== "all" && item.dataset.status !== filters.status) return false;
    if (filters.assignee === "mine" && item.dataset.assignee !== String(page.me)) return false;
    if (filters.assignee === "unassigned" && item.dataset.assignee !== "") return false;
    if (filters.label && !item.dataset.labels.split(",").includes(filters.label)) return false;
    if (filters.closing) {
      const closes = Date.parse(item.dataset.windowCloses || "");
      if (!(closes > Date.now() && closes - Date.now() < page.closing_soon_ms)) return false;
    }
    return true;
  }

  function placeConversation(data) {
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

  function markCurrent() {
    if (!currentId) return;
    const item = list.querySelector(`[data-conversation-id="${currentId}"]`);
    if (item) item.classList.add("current");
  }

  function markRead() {
    if (!currentId || document.hidden) return;
    fetch(`${conversationUrl(currentId)}read/`, {
      method: "POST",
      headers: { "X-CSRFToken": csrfToken() },
      credentials: "same-origin",
    });
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

  function notify(title, body, conversationId) {
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

  // --- Live events ---------------------------------------------------------------------

  const handlers = {
    "message.created"(data) {
      if (data.conversation_id === currentId) {
        placeInThread(data.html);
        if (data.direction === "in") markRead();
      }
      const mine = data.assignee_id === page.me;
      const looking = data.conversation_id === currentId && !document.hidden;
      if (data.direction === "in" && mine && !looking) notify(data.contact, data.preview, data.conversation_id);
    },
    "message.updated"(data) {
      if (data.conversation_id === currentId) placeInThread(data.html);
    },
    // Ticks that moved, several messages of a conversation at once: only forward.
    "message.statuses"(data) {
      if (data.conversation_id !== currentId || !thread) return;
      for (const moved of data.messages) {
        const existing = document.getElementById(`message-${moved.message_id}`);
        const before = existing && existing.dataset.status;
        if (!existing || before === "failed" || STATUS_RANK[moved.status] <= STATUS_RANK[before]) continue;
        const ticks = existing.querySelector(".ticks");
        if (ticks) ticks.replaceWith(fragment(moved.ticks_html));
        existing.dataset.status = moved.status;
        changedAt.set(existing.id, eventCount);
      }
    },
    "note.created"(data) {
      if (data.conversation_id === currentId) placeInThread(data.html);
    },
    "conversation.updated"(data) {
      refreshCounts();
      showPanelStatus(data);
      changedAt.set("conversations", eventCount);
      changedAt.set("conversation-meta", eventCount);
      placeConversation(data);
      if (data.conversation_id === currentId) {
        const meta = document.getElementById("conversation-meta");
        if (meta) meta.replaceWith(fragment(data.meta_html));
        const status = document.getElementById("status-select");
        if (status) status.value = data.status === "snoozed" ? status.value : data.status;
        showStatusButtons(data.status);
        const assignee = document.getElementById("assign-select");
        if (assignee) assignee.value = data.assignee_id ? String(data.assignee_id) : "";
      }
    },
    "label.deleted"(data) {
      // The label is off every conversation: its chips, its menu entry and its filter option go.
      const id = String(data.label_id);
      changedAt.set("conversations", eventCount);
      changedAt.set("conversation-meta", eventCount);
      document.querySelectorAll(`[data-label-id="${id}"], #filter-label option[value="${id}"]`).forEach((element) => element.remove());
      list.querySelectorAll(".conversation-item").forEach((item) => {
        item.dataset.labels = item.dataset.labels.split(",").filter((each) => each && each !== id).join(",");
      });
    },
    notification(data) {
      notify("You were mentioned", data.text, data.conversation_id);
    },
    presence(data) {
      viewers.set(data.user_id, { name: data.name, conversationId: data.conversation_id, at: Date.now() });
      showViewers();
      if (data.hello && data.user_id !== page.me) {
        send({ type: "viewing", conversation_id: document.hidden ? null : currentId });
      }
    },
  };

  // After a reconnect, events may have been missed: take the lists from the server again.
  async function resynchronise() {
    const fetchedAt = eventCount;
    const response = await fetch(window.location.href, { credentials: "same-origin" });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    let threadChanged = false;
    for (const id of ["conversations", "conversation-meta"]) {
      const newer = fresh.getElementById(id);
      const stale = document.getElementById(id);
      // Only what changed is replaced: the thread keeps its scroll and its #message target.
      if (changedSince(id, fetchedAt)) continue;
      if (newer && stale && newer.innerHTML !== stale.innerHTML) stale.replaceChildren(...newer.childNodes);
    }
    const freshThread = fresh.getElementById("messages");
    if (thread && freshThread) threadChanged = mergeThread(freshThread, fetchedAt);
    markCurrent();
    updateTitle();
    if (threadChanged && !window.location.hash) scrollThreadToEnd();
    document.dispatchEvent(new CustomEvent("inbox:resynchronised", { detail: fresh }));
  }

  let socket = null;
  let attempts = 0;
  let timers = [];

  function send(payload) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(payload));
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${window.location.host}/ws/t/${slug}/`);
    socket.addEventListener("open", () => {
      // Events published between the page's rendering and this subscription were missed,
      // on the first connection as after any reconnect: take the lists again.
      resynchronise();
      attempts = 0;
      liveState.classList.add("connected");
      liveState.title = "Live";
      root.dataset.live = "true";
      send({ type: "viewing", conversation_id: currentId, hello: true });
      timers = [
        setInterval(() => send({ type: "ping" }), 25000),
        setInterval(() => send({ type: "viewing", conversation_id: document.hidden ? null : currentId }), 20000),
      ];
    });
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      eventCount += 1;
      const handler = handlers[message.event];
      if (handler) handler(message.data);
      // Other scripts on the page (contacts.js) listen for their own events.
      document.dispatchEvent(new CustomEvent("inbox:event", { detail: message }));
    });
    socket.addEventListener("close", (event) => {
      timers.forEach(clearInterval);
      liveState.classList.remove("connected");
      liveState.title = "Reconnecting…";
      root.dataset.live = "false";
      if (event.code === 4403) return; // not allowed: retrying will not help
      attempts += 1;
      setTimeout(connect, Math.min(1000 * 2 ** attempts, 15000));
    });
  }

  // --- Filters ---------------------------------------------------------------------------

  const filterForm = document.getElementById("filter-form");
  if (filterForm) {
    filterForm.addEventListener("change", () => filterForm.submit());
  }

  // --- The thread's controls -----------------------------------------------------------

  const SNOOZES = { "snooze-hour": "hour", "snooze-tomorrow": "tomorrow", "snooze-week": "week" };

  async function setStatus(value) {
    if (!currentId) return;
    const fields = SNOOZES[value] ? { status: "snoozed", snooze: SNOOZES[value] } : { status: value };
    const answer = await post(`${conversationUrl(currentId)}status/`, fields);
    // Done with it: on to the next conversation of the list, as a queue is worked.
    if (answer && ["resolved", "snoozed"].includes(answer.status) && filterStatus() !== answer.status) moveOn();
    return answer;
  }

  function filterStatus() {
    return new URLSearchParams(window.location.search).get("status") || "open";
  }

  function moveOn() {
    const items = Array.from(list.querySelectorAll(".conversation-item"));
    const index = items.findIndex((item) => Number(item.dataset.conversationId) === currentId);
    const next = items[index + 1] || items[index - 1];
    const listUrl = `/t/${slug}/inbox/${window.location.search}`;
    window.location.href = next ? `${next.getAttribute("href").split("?")[0]}${window.location.search}` : listUrl;
  }

  function showStatusButtons(status) {
    const resolve = document.querySelector("[data-action=resolve]");
    const reopen = document.querySelector("[data-action=reopen]");
    if (resolve) resolve.hidden = status === "resolved";
    if (reopen) reopen.hidden = status === "open";
  }

  // Mine / Unassigned / All: each person's own counts, asked again (at most once a second)
  // whenever a conversation changes.
  let countsTimer = null;
  function refreshCounts() {
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

  const STATUS_NAMES = { open: "Open", pending: "Pending", snoozed: "Snoozed", resolved: "Resolved" };
  // The contact panel lists the contact's conversations with their status.
  function showPanelStatus(data) {
    const entry = document.querySelector(`.contact-panel li[data-conversation-id="${data.conversation_id}"] .status-name`);
    if (entry) entry.textContent = STATUS_NAMES[data.status] || data.status;
  }

  function assignTo(value) {
    if (currentId) return post(`${conversationUrl(currentId)}assign/`, { assignee: value });
  }

  if (controls) {
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

  // --- Messages: reply with a quote, react, send again ---------------------------------

  const picker = document.getElementById("reaction-picker");
  let reactingTo = null;

  function quote(messageId, text) {
    document.getElementById("reply-to").value = messageId;
    document.getElementById("quote-text").textContent = text;
    document.getElementById("quote-chip").hidden = false;
    setMode("reply");
    const textarea = document.getElementById("composer-text");
    if (textarea) textarea.focus();
  }

  function clearQuote() {
    const replyTo = document.getElementById("reply-to");
    if (replyTo) replyTo.value = "";
    const chip = document.getElementById("quote-chip");
    if (chip) chip.hidden = true;
  }

  if (thread) {
    thread.addEventListener("click", async (event) => {
      const button = event.target.closest("button");
      if (!button) return;
      if (button.classList.contains("resend")) {
        button.disabled = true;
        if (!(await post(button.dataset.url))) button.disabled = false;
      } else if (button.dataset.action === "reply") {
        quote(button.dataset.messageId, button.dataset.quote);
      } else if (button.dataset.action === "react") {
        reactingTo = button.dataset.messageId;
        picker.hidden = false;
        const box = button.getBoundingClientRect();
        picker.style.setProperty("--picker-top", `${box.bottom + 4}px`);
        picker.style.setProperty("--picker-left", `${box.left}px`);
      }
    });
  }

  if (picker) {
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

  // --- The composer: reply or private note, saved replies, typing ----------------------

  let mode = "reply";

  function setMode(next) {
    if (!composer) return;
    mode = next;
    composer.classList.toggle("note-mode", mode === "note");
    composer.querySelectorAll(".tab").forEach((tab) => {
      const active = tab.dataset.mode === mode;
      tab.classList.toggle("active", active);
      tab.setAttribute("aria-selected", String(active));
    });
    const noteRow = composer.querySelector(".note-only");
    if (noteRow) noteRow.hidden = mode !== "note";
    const textarea = document.getElementById("composer-text");
    if (textarea) {
      textarea.placeholder =
        mode === "note" ? "Write a private note…" : "Write a reply…";
      textarea.setAttribute("aria-label", mode === "note" ? "Private note for the team" : "Reply to the customer");
    }
    if (mode === "note") clearQuote();
  }

  // A reply sent from an older page of the thread is shown where it belongs: on the latest.
  function showSent(html) {
    const latest = document.getElementById("thread-latest");
    if (latest) window.location.assign(latest.href);
    else placeInThread(html);
  }

  // WhatsApp takes texts up to a limit: the count shows near it, and a longer text is refused
  // here with a message (never cut).
  function countCharacters(textarea) {
    const counter = document.getElementById("composer-count");
    const limit = Number(textarea.dataset.maxLength) || 0;
    if (!counter || !limit) return true;
    const length = textarea.value.length;
    counter.hidden = length < limit * 0.9;
    counter.classList.toggle("over", length > limit);
    counter.textContent =
      length > limit
        ? `${(length - limit).toLocaleString()} characters over the limit of ${limit.toLocaleString()}: shorten it to send`
        : `${length.toLocaleString()} / ${limit.toLocaleString()}`;
    return length <= limit;
  }

  async function submitComposer(event) {
    event.preventDefault();
    const textarea = document.getElementById("composer-text");
    const text = textarea ? textarea.value : "";
    if (!text.trim()) return;
    if (!countCharacters(textarea)) {
      showError(`This is longer than the ${Number(textarea.dataset.maxLength).toLocaleString()} characters WhatsApp takes. Shorten it, or split it in two.`);
      return;
    }
    document.getElementById("composer-error").hidden = true;
    const answer =
      mode === "note"
        ? await post(composer.dataset.noteUrl, { text })
        : await post(composer.action, { text, reply_to: document.getElementById("reply-to").value });
    if (!answer) return;
    textarea.value = "";
    countCharacters(textarea);
    autosize(textarea);
    clearQuote();
    if (answer.html) showSent(answer.html);
  }

  function autosize(textarea) {
    textarea.style.height = "auto";
    textarea.style.height = `${Math.min(textarea.scrollHeight, 200)}px`;
  }

  const cannedMenu = document.getElementById("canned-menu");
  let cannedChoices = [];
  let cannedIndex = 0;

  function showCanned(textarea) {
    const match = textarea.value.match(/^\/(\S*)$/);
    cannedChoices = match ? page.canned.filter((item) => item.shortcut.startsWith(match[1].toLowerCase())) : [];
    cannedIndex = 0;
    cannedMenu.replaceChildren(
      ...cannedChoices.map((item, index) => {
        const option = document.createElement("li");
        option.setAttribute("role", "option");
        option.dataset.index = index;
        option.textContent = `/${item.shortcut} — ${item.text.slice(0, 80)}`;
        return option;
      })
    );
    cannedMenu.hidden = cannedChoices.length === 0;
    highlightCanned();
  }

  function highlightCanned() {
    cannedMenu.querySelectorAll("li").forEach((option, index) => {
      option.classList.toggle("active", index === cannedIndex);
      option.setAttribute("aria-selected", String(index === cannedIndex));
    });
  }

  function chooseCanned(textarea, index) {
    textarea.value = cannedChoices[index].text;
    cannedMenu.hidden = true;
    cannedChoices = [];
    autosize(textarea);
  }

  let lastTyping = 0;

  function announceTyping() {
    if (mode !== "reply" || Date.now() - lastTyping < page.typing_every_ms) return;
    lastTyping = Date.now();
    fetch(composer.dataset.typingUrl, { method: "POST", headers: { "X-CSRFToken": csrfToken() }, credentials: "same-origin" });
  }

  // Files: the picker, a drop on the thread, or a pasted image. The file rides in the
  // composer's own file input; with a file attached, the form goes to the send-file URL and
  // the text is its caption. Meta's types and sizes are checked here first, to spare a long
  // upload; the server checks again.
  const fileInput = document.getElementById("composer-file");
  const attachment = document.getElementById("composer-attachment");
  const rulesElement = document.getElementById("media-rules");
  const mediaRules = rulesElement ? JSON.parse(rulesElement.textContent) : { types: {}, synonyms: {} };
  const defaultPlaceholder = "Write a reply…";
  let sendingFile = false;

  function humanSize(bytes) {
    for (const [unit, factor] of [["MB", 1e6], ["KB", 1e3]]) {
      if (bytes >= factor) return `${Number((bytes / factor).toFixed(1))} ${unit}`;
    }
    return `${bytes} bytes`;
  }

  function fileProblem(file) {
    if (!file.size) return `${file.name} is empty.`;
    const rule = mediaRules.types[mediaRules.synonyms[file.type] || file.type];
    if (!rule) {
      // Some systems give no type at all: the server then judges by the name.
      return file.type ? `WhatsApp cannot send ${file.name} (${file.type}). It accepts ${mediaRules.accepted}.` : null;
    }
    if (file.size > rule.max_bytes) {
      const size = file.size.toLocaleString("en");
      return `${file.name} (${size} bytes) is larger than WhatsApp's limit for ${rule.kind} files, ${humanSize(rule.max_bytes)}.`;
    }
    return null;
  }

  function showComposerError(text) {
    const errorBox = document.getElementById("composer-error");
    errorBox.textContent = text;
    errorBox.hidden = !text;
  }

  function attachFile(file) {
    const problem = fileProblem(file);
    if (problem) {
      clearAttachment();
      showComposerError(problem);
      return;
    }
    if (fileInput.files[0] !== file) {
      const transfer = new DataTransfer();
      transfer.items.add(file);
      fileInput.files = transfer.files;
    }
    document.getElementById("composer-attachment-name").textContent = `📎 ${file.name} · ${humanSize(file.size)}`;
    attachment.hidden = false;
    showComposerError("");
    const textarea = document.getElementById("composer-text");
    textarea.placeholder = "Add a caption… (optional)";
    textarea.focus();
  }

  function clearAttachment() {
    fileInput.value = "";
    attachment.hidden = true;
    document.getElementById("composer-text").placeholder = defaultPlaceholder;
  }

  async function sendFile(event) {
    if (!fileInput.files.length) return; // no file: the ordinary send handles it
    event.preventDefault();
    event.stopImmediatePropagation();
    if (sendingFile) return;
    sendingFile = true;
    composer.setAttribute("aria-busy", "true");
    showComposerError("");
    const response = await fetch(composer.dataset.fileAction, {
      method: "POST",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: new FormData(composer),
      credentials: "same-origin",
    }).catch(() => null);
    sendingFile = false;
    composer.removeAttribute("aria-busy");
    const body = response ? await response.json().catch(() => ({})) : {};
    if (!response || !response.ok) {
      showComposerError(body.error || "The file could not be sent. Try again.");
      return;
    }
    const textarea = document.getElementById("composer-text");
    textarea.value = "";
    autosize(textarea);
    clearAttachment();
    if (body.html) showSent(body.html);
  }

  if (composer && fileInput) {
    const threadSection = document.querySelector("section.thread");
    // Registered before the text send below, so a form with a file never reaches it.
    composer.addEventListener("submit", sendFile);
    fileInput.addEventListener("change", () => {
      if (fileInput.files.length) attachFile(fileInput.files[0]);
    });
    document.getElementById("composer-attachment-remove").addEventListener("click", clearAttachment);
    threadSection.addEventListener("dragover", (event) => {
      if (!event.dataTransfer.types.includes("Files")) return;
      event.preventDefault();
      threadSection.classList.add("dropping");
    });
    threadSection.addEventListener("dragleave", () => threadSection.classList.remove("dropping"));
    threadSection.addEventListener("drop", (event) => {
      threadSection.classList.remove("dropping");
      if (!event.dataTransfer.files.length) return;
      event.preventDefault();
      attachFile(event.dataTransfer.files[0]);
    });
    document.getElementById("composer-text").addEventListener("paste", (event) => {
      const file = event.clipboardData && event.clipboardData.files[0];
      if (!file) return; // text pastes as usual
      event.preventDefault();
      attachFile(file);
    });
  }

  // A photo opens full size in the page's viewer; a failed download can be retried. Both
  // are delegated: a message's element is replaced whenever the message changes.
  const viewer = document.getElementById("media-viewer");
  if (thread && viewer) {
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

  if (composer) {
    const textarea = document.getElementById("composer-text");
    composer.addEventListener("submit", submitComposer);
    composer.querySelectorAll(".tab").forEach((tab) => tab.addEventListener("click", () => setMode(tab.dataset.mode)));
    document.getElementById("quote-cancel").addEventListener("click", clearQuote);
    if (textarea) {
      textarea.addEventListener("keydown", (event) => {
        if (cannedChoices.length) {
          if (event.key === "ArrowDown" || event.key === "ArrowUp") {
            event.preventDefault();
            cannedIndex = (cannedIndex + (event.key === "ArrowDown" ? 1 : -1) + cannedChoices.length) % cannedChoices.length;
            highlightCanned();
            return;
          }
          if (event.key === "Enter" || event.key === "Tab") {
            event.preventDefault();
            chooseCanned(textarea, cannedIndex);
            return;
          }
        }
        if (event.key === "Escape") textarea.blur();
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          composer.requestSubmit();
        }
      });
      textarea.addEventListener("input", () => {
        autosize(textarea);
        countCharacters(textarea);
        showCanned(textarea);
        if (composer.dataset.windowOpen === "true") announceTyping();
      });
      cannedMenu.addEventListener("mousedown", (event) => {
        const option = event.target.closest("li");
        if (option) {
          event.preventDefault();
          chooseCanned(textarea, Number(option.dataset.index));
        }
      });
    }
  }

  // --- Templates, once the 24-hour window has closed -----------------------------------

  const templatePicker = document.getElementById("template-picker");
  const templateSelect = document.getElementById("template-select");
  if (templatePicker && templateSelect) {
    const variables = document.getElementById("template-variables");
    const sendButton = document.getElementById("template-send");
    templateSelect.addEventListener("change", () => {
      const option = templateSelect.selectedOptions[0];
      const count = Number(option.dataset.variables || 0);
      document.getElementById("template-preview").textContent = option.dataset.body || "";
      variables.replaceChildren(
        ...Array.from({ length: count }, (_, index) => {
          const input = document.createElement("input");
          input.name = "values";
          input.required = true;
          input.maxLength = page.template_value_max;
          input.placeholder = `Value ${index + 1}`;
          input.setAttribute("aria-label", `Template value ${index + 1}`);
          return input;
        })
      );
      sendButton.disabled = !templateSelect.value;
    });
    sendButton.addEventListener("click", async () => {
      const values = Array.from(variables.querySelectorAll("input")).map((input) => input.value);
      const answer = await post(templatePicker.dataset.url, { template: templateSelect.value, values });
      if (answer) {
        templateSelect.value = "";
        variables.replaceChildren();
        sendButton.disabled = true;
      }
    });
  }

  // --- The 24-hour window countdown ----------------------------------------------------

  const windowBadge = document.getElementById("window");

  function showWindow() {
    if (!windowBadge || !windowBadge.dataset.closes) return;
    const left = Date.parse(windowBadge.dataset.closes) - Date.now();
    if (left <= 0) {
      windowBadge.textContent = "24-hour window closed";
      windowBadge.className = "window closed";
      const textarea = document.getElementById("composer-text");
      if (textarea && composer.dataset.windowOpen === "true") {
        composer.dataset.windowOpen = "false";
        showError("The 24-hour window just closed: reload to send a template.");
      }
      return;
    }
    const hours = Math.floor(left / 3600000);
    const minutes = Math.floor((left % 3600000) / 60000);
    windowBadge.textContent = `Window closes in ${hours ? `${hours} h ` : ""}${minutes} min`;
    windowBadge.classList.toggle("closing", left < page.closing_soon_ms);
  }

  // --- Keyboard ------------------------------------------------------------------------

  function moveTo(step) {
    const items = Array.from(list.querySelectorAll(".conversation-item"));
    if (!items.length) return;
    const index = items.findIndex((item) => Number(item.dataset.conversationId) === currentId);
    const next = items[Math.min(Math.max(index + step, 0), items.length - 1)];
    if (next) window.location.href = next.href;
  }

  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, textarea, select") || event.metaKey || event.ctrlKey || event.altKey) return;
    const keys = {
      j: () => moveTo(1),
      k: () => moveTo(-1),
      a: () => assignTo("me"),
      e: () => setStatus("resolved"),
      o: () => setStatus("open"),
      r: () => { setMode("reply"); document.getElementById("composer-text")?.focus(); },
      n: () => { setMode("note"); document.getElementById("composer-text")?.focus(); },
      "?": () => document.getElementById("shortcuts-help").showModal(),
    };
    const action = keys[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  });

  // A link to a message as #message-<id> alone (an older bookmark) opens the page that holds it.
  const wanted = window.location.hash.match(/^#message-(\d+)$/);
  const here = new URL(window.location.href);
  if (wanted && thread && !document.getElementById(`message-${wanted[1]}`) && !here.searchParams.has("at")) {
    here.searchParams.delete("before");
    here.searchParams.set("at", wanted[1]);
    window.location.replace(here.href);
    return;
  }

  document.addEventListener("visibilitychange", () => {
    markRead();
    send({ type: "viewing", conversation_id: document.hidden ? null : currentId });
  });
  markCurrent();
  updateTitle();
  scrollThreadToEnd();
  showWindow();
  setInterval(showWindow, 30000);
  setInterval(showViewers, 15000);
  offerNotifications();
  connect();
})();
