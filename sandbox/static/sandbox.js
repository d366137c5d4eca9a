// peerdoor sandbox page. Builds every message with DOM nodes and textContent: text from the
// bot is never parsed as HTML. Bold, italic and links come from Telegram's entities.
"use strict";

const panes = new Map(); // key -> {root, list, notice, items: Map(id -> {json, li}), seen}
let tag = "";

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  if (!response.ok) throw new Error((await response.text()) || response.statusText);
  return response.json();
}

function el(name, className, text) {
  const node = document.createElement(name);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function safeUrl(url) {
  return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null;
}

function link(href, child) {
  const a = el("a");
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer";
  a.appendChild(child);
  return a;
}

// One entity around a node. Offsets and lengths are UTF-16 code units, as JavaScript's.
function wrap(node, entity, text) {
  const tags = {bold: "strong", italic: "em", underline: "u", strikethrough: "s", code: "code"};
  if (tags[entity.type]) {
    const outer = el(tags[entity.type]);
    outer.appendChild(node);
    return outer;
  }
  if (entity.type === "pre") {
    const outer = el("code", "pre");
    outer.appendChild(node);
    return outer;
  }
  if (entity.type === "text_link" && safeUrl(entity.url)) return link(entity.url, node);
  if (entity.type === "url") {
    const href = safeUrl(text.slice(entity.offset, entity.offset + entity.length));
    if (href) return link(href, node);
  }
  if (entity.type === "spoiler" || entity.type === "blockquote" ||
      entity.type === "expandable_blockquote" || entity.type === "bot_command") {
    const outer = el("span", entity.type);
    outer.appendChild(node);
    return outer;
  }
  return node;
}

function richText(text, entities) {
  const fragment = document.createDocumentFragment();
  const list = (entities || []).filter((e) => Number.isInteger(e.offset) && e.length > 0);
  const cuts = new Set([0, text.length]);
  for (const e of list) {
    cuts.add(Math.min(e.offset, text.length));
    cuts.add(Math.min(e.offset + e.length, text.length));
  }
  const points = [...cuts].sort((a, b) => a - b);
  for (let i = 0; i < points.length - 1; i++) {
    const start = points[i], end = points[i + 1];
    let node = document.createTextNode(text.slice(start, end));
    const active = list.filter((e) => e.offset <= start && e.offset + e.length >= end);
    for (const entity of active.reverse()) node = wrap(node, entity, text);
    fragment.appendChild(node);
  }
  return fragment;
}

function renderMessage(key, message) {
  const li = el("li", message.fromBot ? "msg from-bot" : "msg from-person");
  li.dataset.messageId = String(message.id);
  li.dataset.from = message.fromBot ? "bot" : "person";
  const meta = el("p", "meta");
  meta.appendChild(el("span", "sender", message.fromBot ? "Bot" : message.sender));
  meta.appendChild(el("span", "time", message.time));
  if (message.edited) meta.appendChild(el("span", "flag", "edited"));
  if (message.protected) {
    meta.appendChild(el("span", "flag", "forwarding and saving blocked"));
  }
  li.appendChild(meta);
  if (message.media) li.appendChild(el("p", "media", `[${message.media}]`));
  if (message.text) {
    const body = el("p", "text");
    body.appendChild(richText(message.text, message.entities));
    li.appendChild(body);
  }
  if (message.document) {
    const file = el("p", "document");
    const a = el("a", "", `📎 ${message.document.name}`);
    a.href = message.document.href;
    a.download = message.document.name;
    file.appendChild(a);
    file.appendChild(el("span", "size", ` ${message.document.size} bytes`));
    li.appendChild(file);
  }
  if (message.buttons.length) {
    const keyboard = el("div", "keyboard");
    message.buttons.forEach((row, r) => {
      const line = el("div", "row");
      row.forEach((button, c) => {
        const href = safeUrl(button.url);
        if (href) {
          line.appendChild(link(href, document.createTextNode(`${button.label} ↗`)));
          return;
        }
        const b = el("button", "inline", button.label);
        b.type = "button";
        b.addEventListener("click", () => press(key, message.id, r, c, keyboard));
        line.appendChild(b);
      });
      keyboard.appendChild(line);
    });
    li.appendChild(keyboard);
  }
  return li;
}

async function press(key, messageId, row, column, keyboard) {
  for (const b of keyboard.querySelectorAll("button")) b.disabled = true;
  try {
    await api("/api/press", {pane: key, message: messageId, row, column});
  } catch (error) {
    showNotice(key, `Not sent: ${error.message}`, false);
  } finally {
    for (const b of keyboard.querySelectorAll("button")) b.disabled = false;
  }
}

async function send(key, text) {
  await api("/api/send", {pane: key, text});
}

function showNotice(key, text, alert) {
  const pane = panes.get(key);
  pane.notice.textContent = text;
  pane.notice.hidden = false;
  pane.notice.classList.toggle("alert", Boolean(alert));
  clearTimeout(pane.noticeTimer);
  pane.noticeTimer = setTimeout(() => { pane.notice.hidden = true; }, alert ? 12000 : 5000);
}

function renderPane(key, state, first) {
  const pane = panes.get(key);
  const list = pane.list;
  const atBottom = first || list.scrollHeight - list.scrollTop - list.clientHeight < 60;
  const present = new Set();
  let previous = null;
  for (const message of state.messages) {
    present.add(message.id);
    const json = JSON.stringify(message);
    let item = pane.items.get(message.id);
    if (!item || item.json !== json) {
      const li = renderMessage(key, message);
      if (item) item.li.replaceWith(li);
      item = {json, li};
      pane.items.set(message.id, item);
    }
    const expected = previous ? previous.nextSibling : list.firstChild;
    if (expected !== item.li) list.insertBefore(item.li, expected);
    previous = item.li;
  }
  for (const [id, item] of pane.items) {
    if (!present.has(id)) {
      item.li.remove();
      pane.items.delete(id);
    }
  }
  pane.root.dataset.count = String(state.messages.length);
  if (atBottom) list.scrollTop = list.scrollHeight;
  for (const notice of state.notices) {
    if (pane.seen.has(notice.id)) continue;
    pane.seen.add(notice.id);
    if (!first) showNotice(key, notice.text, notice.alert);
  }
}

function buildPane(info) {
  const template = document.getElementById("pane-template");
  const root = template.content.firstElementChild.cloneNode(true);
  root.id = `pane-${info.key}`;
  root.dataset.pane = info.key;
  const title = root.querySelector(".pane-title");
  title.id = `title-${info.key}`;
  title.textContent = info.title;
  root.setAttribute("aria-labelledby", title.id);
  root.querySelector(".hint").textContent = info.hint;
  const suggestions = root.querySelector(".suggestions");
  for (const text of info.suggestions) {
    const chip = el("button", "chip", text);
    chip.type = "button";
    chip.title = `Send ${text} as ${info.sender}`;
    chip.addEventListener("click", () => send(info.key, text).catch(
      (error) => showNotice(info.key, `Not sent: ${error.message}`, false)));
    suggestions.appendChild(chip);
  }
  const list = root.querySelector(".messages");
  list.setAttribute("aria-label", `Messages: ${info.title}`);
  const form = root.querySelector(".composer");
  const input = form.querySelector("input");
  input.id = `input-${info.key}`;
  input.placeholder = `Message as ${info.sender}`;
  const label = form.querySelector("label");
  label.htmlFor = input.id;
  label.textContent = `Message as ${info.sender} in ${info.title}`;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    try {
      await send(info.key, text);
      input.value = "";
    } catch (error) {
      showNotice(info.key, `Not sent: ${error.message}`, false);
    }
  });
  panes.set(info.key, {
    root, list, notice: root.querySelector(".notice"), items: new Map(), seen: new Set(),
  });
  document.getElementById("panes").appendChild(root);
}

async function poll() {
  const status = document.getElementById("connection");
  let first = true;
  let wait = 500;
  for (;;) {
    try {
      const state = await api(`/api/state?since=${encodeURIComponent(tag)}`);
      if (state.tag !== tag) {
        tag = state.tag;
        for (const [key, paneState] of Object.entries(state.panes)) {
          if (panes.has(key)) renderPane(key, paneState, first);
        }
        first = false;
        document.body.dataset.ready = "true";
      }
      status.textContent = "";
      wait = 500;
    } catch (error) {
      status.textContent = "The sandbox is not answering: it may have stopped. " +
        "Start it again with: peerdoor sandbox";
      await new Promise((resolve) => setTimeout(resolve, wait));
      wait = Math.min(wait * 2, 5000);
    }
  }
}

async function main() {
  const info = await api("/api/info");
  document.getElementById("config").textContent = info.config;
  for (const pane of info.panes) buildPane(pane);
  poll();
}

main().catch((error) => {
  document.getElementById("connection").textContent = `The sandbox page failed: ${error}`;
});
