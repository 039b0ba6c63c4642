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

  // Messages sit in Meta's time order, not arrival order.
  function placeMessage(html) {
    const element = fragment(html);
    const existing = document.getElementById(element.id);
    if (existing) {
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

  // Files: the picker, a drop on the thread, or a pasted image. The file rides in the
  // composer's own file input; with a file attached, the form goes to the send-file URL and
  // the text is its caption. Meta's types and sizes are checked here first, to spare a long
  // upload; the server checks again.
  const fileInput = document.getElementById("composer-file");
  const attachment = document.getElementById("composer-attachment");
  const rulesElement = document.getElementById("media-rules");
  const mediaRules = rulesElement ? JSON.parse(rulesElement.textContent) : { types: {}, synonyms: {} };
  const defaultPlaceholder = "Write a reply… (Enter sends, Shift+Enter for a new line)";
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
    if (body.html) placeMessage(body.html);
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
      if (body.html) placeMessage(body.html);
      else retry.disabled = false;
    });
    viewer.addEventListener("click", (event) => {
      if (event.target === viewer) viewer.close(); // a click on the backdrop
    });
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

  document.addEventListener("visibilitychange", markRead);
  markCurrent();
  updateTitle();
  scrollThreadToEnd();
  connect();
})();
