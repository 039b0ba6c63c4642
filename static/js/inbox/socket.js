// The websocket: connects, reconnects with a growing pause, pings, and hands each event to
// its handler (other scripts on the page hear every event as "inbox:event").
import { changes, currentId, root, slug } from "./common.js";

let socket = null;
let attempts = 0;
let timers = [];

export function send(payload) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(payload));
}

export function viewing() {
  return { type: "viewing", conversation_id: document.hidden ? null : currentId };
}

/** handlers: event name -> function(data); onOpen runs on every (re)connection. */
export function connect(handlers, onOpen) {
  const liveState = document.getElementById("live-state");
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${window.location.host}/ws/t/${slug}/`);
  socket.addEventListener("open", () => {
    onOpen();
    attempts = 0;
    liveState.classList.add("connected");
    liveState.title = "Live";
    root.dataset.live = "true";
    send({ type: "viewing", conversation_id: currentId, hello: true });
    timers = [setInterval(() => send({ type: "ping" }), 25000), setInterval(() => send(viewing()), 20000)];
  });
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    changes.heard();
    const handler = handlers[message.event];
    if (handler) handler(message.data);
    document.dispatchEvent(new CustomEvent("inbox:event", { detail: message }));
  });
  socket.addEventListener("close", (event) => {
    timers.forEach(clearInterval);
    liveState.classList.remove("connected");
    liveState.title = "Reconnecting…";
    root.dataset.live = "false";
    if (event.code === 4403) return; // not allowed: retrying will not help
    attempts += 1;
    setTimeout(() => connect(handlers, onOpen), Math.min(1000 * 2 ** attempts, 15000));
  });
}
