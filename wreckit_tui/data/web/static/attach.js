// The web terminal of one sprite: xterm.js bridged to `wisp attach NAME` by a websocket.
// Keys go as binary frames, window sizes as ["resize", cols, rows]; closing the tab hangs up.
(function () {
  "use strict";
  const element = document.getElementById("terminal");
  const name = element.dataset.name;
  const term = new Terminal({ cursorBlink: true, fontSize: 15, scrollback: 5000 });
  const fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(element);
  fit.fit();
  term.focus();
  window.wreckitTerminal = term;

  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const path = "/attach/" + encodeURIComponent(name) + "/ws";
  const url = scheme + "//" + location.host + path + "?cols=" + term.cols + "&rows=" + term.rows;
  const socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  const encoder = new TextEncoder();

  function send(bytes) {
    if (socket.readyState === WebSocket.OPEN) socket.send(bytes);
  }
  socket.addEventListener("message", (event) => {
    if (typeof event.data !== "string") term.write(new Uint8Array(event.data));
  });
  socket.addEventListener("close", () => {
    term.write("\r\n\x1b[7m the terminal of " + name + " ended \x1b[0m\r\n");
    document.title = name + " (ended) · wreckit";
  });
  term.onData((data) => send(encoder.encode(data)));
  term.onBinary((data) => send(Uint8Array.from(data, (c) => c.charCodeAt(0))));
  term.onResize(({ cols, rows }) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(["resize", cols, rows]));
  });
  window.addEventListener("resize", () => fit.fit());
})();
