// The composer: a reply or a private note, a quoted message, saved replies, typing, files,
// the character limit, templates once the 24-hour window has closed, and its countdown.
import { csrfToken, page, post, showError } from "./common.js";
import { placeInThread } from "./thread.js";

const composer = document.getElementById("composer");
const defaultPlaceholder = "Write a reply…";
let mode = "reply";

function textBox() {
  return document.getElementById("composer-text");
}

export function setMode(next) {
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
  const interactive = document.getElementById("interactive-open");
  if (interactive) interactive.hidden = mode === "note"; // a note stays with the team
  const textarea = textBox();
  if (textarea) {
    textarea.placeholder = mode === "note" ? "Write a private note…" : defaultPlaceholder;
    textarea.setAttribute("aria-label", mode === "note" ? "Private note for the team" : "Reply to the customer");
  }
  if (mode === "note") clearQuote();
}

/** Switches to `next` ("reply" or "note") and puts the cursor in the text box. */
export function write(next) {
  setMode(next);
  textBox()?.focus();
}

function quote(messageId, text) {
  document.getElementById("reply-to").value = messageId;
  document.getElementById("quote-text").textContent = text;
  document.getElementById("quote-chip").hidden = false;
  write("reply");
}

function clearQuote() {
  const replyTo = document.getElementById("reply-to");
  if (replyTo) replyTo.value = "";
  const chip = document.getElementById("quote-chip");
  if (chip) chip.hidden = true;
}

// A reply sent from an older page of the thread is shown where it belongs: on the latest.
function showSent(html) {
  const latest = document.getElementById("thread-latest");
  if (latest) window.location.assign(latest.href);
  else placeInThread(html, { onlyIfNew: true });
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
  const textarea = textBox();
  const text = textarea ? textarea.value : "";
  if (!text.trim()) return;
  if (!countCharacters(textarea)) {
    showError(
      `This is longer than the ${Number(textarea.dataset.maxLength).toLocaleString()} characters WhatsApp takes. Shorten it, or split it in two.`
    );
    return;
  }
  showError("");
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

// --- Saved replies: "/" and a shortcut ------------------------------------------------

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

function onKeydown(event) {
  const textarea = event.target;
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
}

// --- Files: the picker, a drop on the thread, or a pasted image --------------------------
// The file rides in the composer's own file input; with a file attached, the form goes to
// the send-file URL and the text is its caption. Meta's types and sizes are checked here
// first, to spare a long upload; the server checks again.

const fileInput = document.getElementById("composer-file");
const attachment = document.getElementById("composer-attachment");
let sendingFile = false;

function mediaRules() {
  const element = document.getElementById("media-rules");
  return element ? JSON.parse(element.textContent) : { types: {}, synonyms: {} };
}

function humanSize(bytes) {
  for (const [unit, factor] of [
    ["MB", 1e6],
    ["KB", 1e3],
  ]) {
    if (bytes >= factor) return `${Number((bytes / factor).toFixed(1))} ${unit}`;
  }
  return `${bytes} bytes`;
}

function fileProblem(file) {
  if (!file.size) return `${file.name} is empty.`;
  const rules = mediaRules();
  const rule = rules.types[rules.synonyms[file.type] || file.type];
  if (!rule) {
    // Some systems give no type at all: the server then judges by the name.
    return file.type ? `WhatsApp cannot send ${file.name} (${file.type}). It accepts ${rules.accepted}.` : null;
  }
  if (file.size > rule.max_bytes) {
    const size = file.size.toLocaleString("en");
    return `${file.name} (${size} bytes) is larger than WhatsApp's limit for ${rule.kind} files, ${humanSize(rule.max_bytes)}.`;
  }
  return null;
}

function attachFile(file) {
  const problem = fileProblem(file);
  if (problem) {
    clearAttachment();
    showError(problem);
    return;
  }
  if (fileInput.files[0] !== file) {
    const transfer = new DataTransfer();
    transfer.items.add(file);
    fileInput.files = transfer.files;
  }
  document.getElementById("composer-attachment-name").textContent = `📎 ${file.name} · ${humanSize(file.size)}`;
  attachment.hidden = false;
  showError("");
  const textarea = textBox();
  textarea.placeholder = "Add a caption… (optional)";
  textarea.focus();
}

function clearAttachment() {
  fileInput.value = "";
  attachment.hidden = true;
  textBox().placeholder = defaultPlaceholder;
}

async function sendFile(event) {
  if (!fileInput.files.length) return; // no file: the ordinary send handles it
  event.preventDefault();
  event.stopImmediatePropagation();
  if (sendingFile) return;
  sendingFile = true;
  composer.setAttribute("aria-busy", "true");
  showError("");
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
    showError(body.error || "The file could not be sent. Try again.");
    return;
  }
  const textarea = textBox();
  textarea.value = "";
  autosize(textarea);
  clearAttachment();
  if (body.html) showSent(body.html);
}

function startFiles() {
  const threadSection = document.querySelector("section.thread");
  // Registered before the text send, so a form with a file never reaches it.
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
  textBox().addEventListener("paste", (event) => {
    const file = event.clipboardData && event.clipboardData.files[0];
    if (!file) return; // text pastes as usual
    event.preventDefault();
    attachFile(file);
  });
}

function startText() {
  const textarea = textBox();
  composer.addEventListener("submit", submitComposer);
  composer.querySelectorAll(".tab").forEach((tab) => tab.addEventListener("click", () => setMode(tab.dataset.mode)));
  document.getElementById("quote-cancel").addEventListener("click", clearQuote);
  if (!textarea) return;
  textarea.addEventListener("keydown", onKeydown);
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

// A message's "Reply" button quotes it (delegated: messages are replaced as they change).
function startQuotes() {
  const thread = document.getElementById("messages");
  if (!thread) return;
  thread.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action=reply]");
    if (button) quote(button.dataset.messageId, button.dataset.quote);
  });
}

// Templates, once the 24-hour window has closed: static/js/template_form.js.

// --- The 24-hour window countdown ----------------------------------------------------

function showWindow() {
  const windowBadge = document.getElementById("window");
  if (!windowBadge || !windowBadge.dataset.closes) return;
  const left = Date.parse(windowBadge.dataset.closes) - Date.now();
  if (left <= 0) {
    windowBadge.textContent = "24-hour window closed";
    windowBadge.className = "window closed";
    if (textBox() && composer.dataset.windowOpen === "true") {
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

export function startComposer() {
  if (composer && fileInput) startFiles();
  if (composer) startText();
  startQuotes();
  showWindow();
  setInterval(showWindow, 30000);
}
