// The templates page: Meta's review outcomes (and other admins' changes) arrive live. The
// page has its own socket (the inbox's script is not on this page); rows come as HTML.
(function () {
  "use strict";

  const page = document.querySelector("main.templates-page");
  if (!page) return;
  const rows = document.getElementById("template-rows");
  const announcement = document.getElementById("template-announcement");
  let attempts = 0;

  function fragment(html) {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  function describe(data) {
    const status = data.status.toLowerCase();
    return `Template ${data.name} is now ${status}${data.reason ? `: ${data.reason}` : ""}.`;
  }

  function templateUpdated(data) {
    const current = document.getElementById(`template-${data.template_id}`);
    if (!data.html) {
      if (current) current.remove();
    } else if (current) {
      current.replaceWith(fragment(`<table><tbody>${data.html}</tbody></table>`).querySelector("tr"));
    } else {
      rows.querySelector(".no-templates")?.remove();
      rows.append(fragment(`<table><tbody>${data.html}</tbody></table>`).querySelector("tr"));
    }
    announcement.textContent = describe(data);
  }

  // Events published before the socket joined were missed: take the rows again.
  async function resynchronise() {
    const response = await fetch(window.location.href, { credentials: "same-origin" });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    const freshRows = fresh.getElementById("template-rows");
    if (freshRows) rows.replaceChildren(...freshRows.childNodes);
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${window.location.host}/ws/t/${page.dataset.slug}/`);
    let ping = null;
    socket.addEventListener("open", async () => {
      attempts = 0;
      await resynchronise();
      page.dataset.live = "true";
      ping = setInterval(() => socket.send(JSON.stringify({ type: "ping" })), 25000);
    });
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      if (message.event === "template.updated") templateUpdated(message.data);
    });
    socket.addEventListener("close", (event) => {
      clearInterval(ping);
      page.dataset.live = "false";
      if (event.code === 4403) return;
      attempts += 1;
      setTimeout(connect, Math.min(1000 * 2 ** attempts, 15000));
    });
  }

  document.addEventListener("submit", (event) => {
    const question = event.target.dataset.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  });

  connect();
})();
