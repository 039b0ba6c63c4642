// The contact side panel (inbox and contact pages): saving edits, blocking, and live updates
// from inbox.js's socket ("inbox:event"). The panel's HTML always comes from the server.
(function () {
  "use strict";

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function fragment(html) {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  function panel() {
    return document.getElementById("contact-panel");
  }

  function markCurrentConversation(element) {
    const current = document.querySelector("main.inbox")?.dataset.conversationId;
    const item = current && element.querySelector(`.contact-conversations [data-conversation-id="${current}"]`);
    if (item) item.classList.add("current");
  }

  // Fresh panel HTML replaces the old, except an edit form someone has open: what they
  // typed stays, and its old version makes the server point out a conflict on save.
  function replacePanel(html, { keepOpenForm = true } = {}) {
    const current = panel();
    if (!current) return;
    const fresh = fragment(html);
    const openForm = current.querySelector("details.contact-edit[open]");
    if (keepOpenForm && openForm) fresh.querySelector("details.contact-edit").replaceWith(openForm);
    markCurrentConversation(fresh);
    current.replaceWith(fresh);
  }

  function showError(form, text) {
    const box = form.querySelector(".contact-error, .consent-error");
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
  }

  async function submit(event) {
    const form = event.target.closest(".contact-panel form");
    if (!form) return;
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
        body: new FormData(form),
        credentials: "same-origin",
      });
      const body = await response.json().catch(() => ({}));
      if (response.ok && body.html) {
        replacePanel(body.html, { keepOpenForm: false });
        return;
      }
      if (response.status === 409 && body.html) {
        replacePanel(body.html); // the others' change shows; this form stays as typed
        form.elements.version.value = body.version;
      }
      showError(form, body.error || "The contact could not be saved. Try again.");
    } catch (error) {
      showError(form, "The server did not answer. Check the connection and try again.");
    } finally {
      if (button) button.disabled = false;
    }
  }

  function addAttributeRow(event) {
    const button = event.target.closest(".contact-add-attribute");
    if (!button) return;
    const rows = button.closest("form").querySelector(".contact-attribute-rows");
    const last = rows.querySelector(".contact-attribute-row:last-of-type");
    const row = last.cloneNode(true);
    row.querySelectorAll("input").forEach((input) => { input.value = ""; });
    rows.appendChild(row);
    row.querySelector("input").focus();
  }

  document.addEventListener("submit", submit);
  document.addEventListener("click", addAttributeRow);

  document.addEventListener("inbox:event", (event) => {
    const { event: kind, data } = event.detail;
    const current = panel();
    if (kind !== "contact.updated" || !current || Number(current.dataset.contactId) !== data.contact_id) return;
    replacePanel(data.html);
    const heading = document.querySelector(".thread-header h2");
    if (heading) heading.textContent = data.display_name;
  });

  // After a reconnect, inbox.js has fetched the page again: take its panel too.
  document.addEventListener("inbox:resynchronised", (event) => {
    const fresh = event.detail.getElementById("contact-panel");
    if (fresh) replacePanel(fresh.outerHTML);
  });

  // A search result links to #message-<id>: show it, not the end of the thread.
  const target = window.location.hash.startsWith("#message-") && document.getElementById(window.location.hash.slice(1));
  if (target) target.scrollIntoView({ block: "center" });
  if (panel()) markCurrentConversation(panel());
})();
