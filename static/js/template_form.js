// The template form, in a thread whose window has closed and on the new conversation page:
// choosing a template draws an input for each of its parameters (labelled by the
// template's own names, {{1}} or {{first_name}}), a header file, location or link where it
// has one, and a live preview of the message with the values filled in. Sending posts the
// form; the server checks every value again and names the field of any that is wrong.
// Customer and template text is only ever set as textContent.

const PLACEHOLDER = /{{\s*(\w+)\s*}}/g;
const LOCATION_PARTS = ["latitude", "longitude", "name", "address"];
const ACCEPT = { image: "image/jpeg,image/png", video: "video/mp4,video/3gpp", document: "application/pdf,text/plain,.doc,.docx,.xls,.xlsx,.ppt,.pptx" };

function csrfToken() {
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (input) return input.value;
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

function element(tag, attributes = {}, text = "") {
  const made = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) made.setAttribute(name, value);
  if (text) made.textContent = text;
  return made;
}

function labelled(id, label, input) {
  const row = element("div", { class: "template-field" });
  row.append(element("label", { for: id }, label), input);
  return row;
}

function textInput(spec, id) {
  const input = element("input", { type: "text", name: spec.key, id, "data-key": spec.key });
  if (spec.kind !== "payload") input.required = true;
  if (spec.kind === "payload") input.placeholder = "Optional: the button's text by default";
  if (spec.kind === "otp" || spec.kind === "coupon_code") input.maxLength = 15;
  return labelled(id, spec.label, input);
}

function mediaInputs(spec, files) {
  const box = element("fieldset", { class: "template-field header-media" });
  box.append(element("legend", {}, spec.label));
  const file = element("input", { type: "file", name: "header_file", id: "header-file", accept: ACCEPT[spec.kind] || "" });
  box.append(labelled("header-file", `Upload the ${spec.kind}`, file));
  const choices = files.filter((item) => item.kind === spec.kind);
  if (choices.length) {
    const select = element("select", { name: "header_media_id", id: "header-media-id" });
    select.append(element("option", { value: "" }, "None"));
    for (const item of choices) select.append(element("option", { value: String(item.id), "data-url": item.url }, item.name));
    box.append(labelled("header-media-id", `Or pick a ${spec.kind} of the workspace`, select));
  }
  const link = element("input", { type: "url", name: "header_link", id: "header-link", placeholder: "https://…" });
  box.append(labelled("header-link", `Or give a link to the ${spec.kind}`, link));
  return box;
}

function locationInputs(spec) {
  const box = element("fieldset", { class: "template-field header-location" });
  box.append(element("legend", {}, spec.label));
  for (const part of LOCATION_PARTS) {
    const id = `header-location-${part}`;
    const input = element("input", { type: "text", name: `header_location.${part}`, id, required: "" });
    if (part === "latitude" || part === "longitude") input.inputMode = "decimal";
    box.append(labelled(id, `Header location ${part}`, input));
  }
  return box;
}

function setUp(container) {
  const data = JSON.parse(document.getElementById("template-form-data").textContent);
  const select = container.querySelector("#template-select");
  const fields = container.querySelector("#template-fields");
  const preview = container.querySelector("#template-preview");
  const errorBox = container.querySelector("#template-error");
  const scope = container.closest("[data-template-scope]") || container;
  const sendButton = scope.querySelector("#template-send");
  let objectUrl = null;

  const shape = () => data.templates[select.value];
  const valueOf = (key) => {
    const input = fields.querySelector(`[name="${CSS.escape(key)}"]`);
    return input ? input.value.trim() : "";
  };

  function fill(text, prefix) {
    return (text || "").replace(PLACEHOLDER, (whole, name) => {
      const key = shape().authentication ? "code" : `${prefix}.${name}`;
      return valueOf(key) || whole;
    });
  }

  // The header's file gets one object URL while it stays chosen, and an image already shown
  // stays in place: drawn again (as every keystroke and change draws), a new image has no
  // size until it loads, and the page shifted under a click on the send button (the press
  // and the release then land on different things, and nothing is sent).
  let objectFile = null;

  function fileUrl(file) {
    if (file !== objectFile) {
      if (objectUrl) URL.revokeObjectURL(objectUrl);
      objectFile = file || null;
      objectUrl = file ? URL.createObjectURL(file) : null;
    }
    return objectUrl;
  }

  function drawHeader(current) {
    const header = preview.querySelector("#preview-header");
    const format = current.header_format;
    if (["IMAGE", "VIDEO", "DOCUMENT"].includes(format)) {
      const kind = format.toLowerCase();
      const file = fields.querySelector("#header-file")?.files?.[0];
      const picked = fields.querySelector("#header-media-id")?.selectedOptions?.[0];
      const shown = fileUrl(file) || picked?.dataset.url;
      const source = shown || valueOf("header_link");
      if (kind === "image" && shown) {
        const image = header.querySelector("img");
        if (!image || image.getAttribute("src") !== shown || header.children.length !== 1)
          header.replaceChildren(element("img", { src: shown, alt: "The header image", class: "preview-image" }));
      } else {
        header.replaceChildren(element("span", { class: "media-card" }, source ? `${kind}: ${file?.name || picked?.textContent || source}` : `No ${kind} chosen yet`));
      }
      return;
    }
    header.replaceChildren();
    if (format === "TEXT") header.append(element("strong", {}, fill(current.header_text, "header")));
    if (format === "LOCATION") {
      const name = fields.querySelector("#header-location-name")?.value || "Location";
      const address = fields.querySelector("#header-location-address")?.value || "";
      header.append(element("span", { class: "media-card" }, `📍 ${name}${address ? `, ${address}` : ""}`));
    }
  }

  function draw() {
    const current = shape();
    preview.hidden = !current;
    if (sendButton) sendButton.disabled = !current;
    if (!current) return;
    drawHeader(current);
    preview.querySelector("#preview-body").textContent = fill(current.body_text, "body");
    preview.querySelector("#preview-footer").textContent = current.footer_text || "";
    const buttons = preview.querySelector("#preview-buttons");
    buttons.replaceChildren(...current.buttons.map((button) => element("li", {}, button.text || button.type.toLowerCase())));
  }

  function build() {
    const current = shape();
    errorBox.hidden = true;
    fields.replaceChildren(
      ...(current ? current.fields : []).map((spec, index) => {
        if (["image", "video", "document"].includes(spec.kind)) return mediaInputs(spec, data.files);
        if (spec.kind === "location") return locationInputs(spec);
        return textInput(spec, `template-field-${index}`);
      })
    );
    draw();
  }

  async function send(event) {
    event?.preventDefault();
    errorBox.hidden = true;
    const body = new FormData();
    for (const input of scope.querySelectorAll("input[name], select[name]")) {
      if (input.type !== "file") body.append(input.name, input.value);
      else if (input.files.length) body.append(input.name, input.files[0]);
    }
    if (sendButton) sendButton.disabled = true;
    const response = await fetch(scope.dataset.url || container.dataset.url, {
      method: "POST",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
      body,
      credentials: "same-origin",
    });
    const answer = await response.json().catch(() => ({}));
    if (sendButton) sendButton.disabled = false;
    if (!response.ok) {
      errorBox.textContent = answer.error || "That did not work. Try again.";
      errorBox.hidden = false;
      return;
    }
    if (answer.url) {
      window.location.assign(answer.url);
      return;
    }
    select.value = "";
    build();
  }

  // Enter in a field must not submit the form around it (the thread's composer).
  fields.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && scope.tagName !== "FORM") event.preventDefault();
  });
  select.addEventListener("change", build);
  fields.addEventListener("input", draw);
  fields.addEventListener("change", draw);
  if (scope.tagName === "FORM") scope.addEventListener("submit", send);
  else if (sendButton) sendButton.addEventListener("click", send);
  build();
}

for (const container of document.querySelectorAll("[data-template-form]")) {
  if (container.querySelector("#template-select")) setUp(container);
}
