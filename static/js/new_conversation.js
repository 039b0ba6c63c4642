// The new conversation page: the template form (template_form.js) does the fields, the
// live preview and the send; a template already chosen in the URL (?template=) is picked.
import "./template_form.js";

const chosen = new URLSearchParams(window.location.search).get("template");
const select = document.getElementById("template-select");
if (chosen && select && select.querySelector(`option[value="${CSS.escape(chosen)}"]`)) {
  select.value = chosen;
  select.dispatchEvent(new Event("change"));
}
