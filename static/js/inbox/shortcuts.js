// Keyboard shortcuts (listed in the page's "?" dialog). Keys typed into a field stay there.
import { write } from "./composer.js";
import { moveTo } from "./list.js";
import { assignTo, setStatus } from "./thread.js";

const KEYS = {
  j: () => moveTo(1),
  k: () => moveTo(-1),
  a: () => assignTo("me"),
  e: () => setStatus("resolved"),
  o: () => setStatus("open"),
  r: () => write("reply"),
  n: () => write("note"),
  "?": () => document.getElementById("shortcuts-help").showModal(),
};

export function startShortcuts() {
  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, textarea, select, dialog[open]") || event.metaKey || event.ctrlKey || event.altKey) return;
    const action = KEYS[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  });
}
