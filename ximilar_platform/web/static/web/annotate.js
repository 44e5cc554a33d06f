// The annotation editor: boxes on an SVG over the image (detection) or fast categorization
// (recognition), keyboard first. Every change goes to the API through one ordered save queue that
// retries on network errors and says so, so nothing is lost and nothing is saved twice.
"use strict";

(function () {
  const root = document.getElementById("annotate");
  if (!root) return;
  const config = JSON.parse(document.getElementById("annotate-config").textContent);
  const queue = JSON.parse(document.getElementById("annotate-queue").textContent);
  const isDetection = config.kind === "detection";
  const labels = config.labels; // [{id, name, color}] in key order
  const labelById = Object.fromEntries(labels.map((label) => [label.id, label]));
  const SVG = "http://www.w3.org/2000/svg";
  const MIN_SIDE = 3; // a drag shorter than this (stored-image pixels) is a click, not a box
  const $ = (selector) => root.querySelector(selector);

  let index = Math.max(0, queue.findIndex((item) => item.id === config.start));
  let current = null; // the shown image's data: {id, width, height, objects, suggestions, ...}
  let selected = null; // {type: "object"|"suggestion", item}
  let activeLabel = labels.length ? labels[0].id : null;
  let hidden = false;
  let undoStack = [];
  let redoStack = [];
  let localKey = 0;
  const cache = new Map(); // image id -> its data, for R (repeat) and for going back

  // ---- the save queue: one request at a time, in order; network errors and 5xx are retried ----
  const pending = [];
  let saving = false;
  let retryDelay = 1000;

  function setSaveState(text, kind) {
    const state = $("#save-state");
    state.textContent = text;
    state.dataset.state = kind;
  }

  function enqueue(describe, send) {
    pending.push({ describe, send });
    pump();
  }

  async function pump() {
    if (saving) return;
    saving = true;
    while (pending.length) {
      const job = pending[0];
      setSaveState(`Saving… (${pending.length})`, "saving");
      let response;
      try {
        response = await job.send();
      } catch (error) {
        response = null;
      }
      if (response === null || response.status >= 500 || response.status === 429) {
        setSaveState(`Unsaved — retrying (${pending.length} change${pending.length > 1 ? "s" : ""})`, "unsaved");
        await new Promise((resolve) => setTimeout(resolve, retryDelay));
        retryDelay = Math.min(retryDelay * 2, 15000);
        continue;
      }
      retryDelay = 1000;
      pending.shift();
      if (response.status >= 400) {
        const answer = await response.json().catch(() => ({}));
        showError(`${job.describe} was refused: ${answer.error || answer.detail || response.status}`);
        if (current) reload(current.id);
      }
    }
    saving = false;
    setSaveState("All changes saved", "saved");
  }

  window.addEventListener("beforeunload", (event) => {
    if (pending.length) { event.preventDefault(); event.returnValue = ""; }
  });

  function api(method, path, body) {
    const url = new URL(config.api + path, window.location.origin);
    if (method === "GET") url.searchParams.set("workspace", config.workspace);
    return fetch(url, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": config.csrf },
      body: body === undefined ? undefined : JSON.stringify({ ...body, workspace: config.workspace }),
    });
  }

  function showError(text, kind) {
    const box = $("#editor-error");
    box.textContent = text;
    box.className = `flash ${kind || "error"} editor-error`;
    box.hidden = false;
    clearTimeout(showError.timer);
    showError.timer = setTimeout(() => { box.hidden = true; }, 6000);
  }

  // ---- loading images ----
  async function fetchImage(id) {
    if (cache.has(id)) return cache.get(id);
    const response = await fetch(config.imageUrl.replace("00000000-0000-0000-0000-000000000000", id), {
      credentials: "same-origin",
    });
    if (!response.ok) throw new Error(`image ${id}: ${response.status}`);
    const data = await response.json();
    data.objects.forEach((obj) => { obj.key = ++localKey; obj.ref = { id: obj.id }; });
    cache.set(id, data);
    return data;
  }

  async function reload(id) {
    cache.delete(id);
    if (current && current.id === id) show(await fetchImage(id));
  }

  async function go(to) {
    if (to < 0 || to >= queue.length) {
      if (to >= queue.length) showError("That was the last image of this queue: go back to the Annotate tab for more.", "info");
      return;
    }
    index = to;
    const item = queue[index];
    $("#position").textContent = `${index + 1} / ${queue.length}`;
    const url = new URL(window.location.href);
    url.searchParams.set("image", item.id);
    history.replaceState(null, "", url);
    try {
      show(await fetchImage(item.id));
    } catch (error) {
      showError(`Could not load the image (${error.message}); press N to skip it.`);
    }
    prefetch(index + 1);
  }

  function prefetch(at) {
    if (at >= queue.length) return;
    new Image().src = queue[at].img;
    fetchImage(queue[at].id).catch(() => {});
  }

  function show(data) {
    current = data;
    selected = null;
    undoStack = [];
    redoStack = [];
    queue[index].status = data.status;
    root.dataset.image = data.id;
    if (isDetection) {
      const svg = $("#canvas");
      svg.dataset.width = data.width;
      svg.dataset.height = data.height;
      $("#picture").setAttribute("href", data.url);
      $("#picture").setAttribute("width", data.width);
      $("#picture").setAttribute("height", data.height);
      fit();
    } else {
      $("#picture").src = data.url;
    }
    renderAll();
  }

  // ---- drawing (detection) ----
  function toImage(event) {
    const svg = $("#canvas");
    const point = svg.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    const local = point.matrixTransform(svg.getScreenCTM().inverse());
    return [clamp(local.x, 0, current.width), clamp(local.y, 0, current.height)];
  }

  function clamp(value, low, high) { return Math.min(Math.max(value, low), high); }

  function normal(box) {
    const [x1, y1, x2, y2] = box;
    return [Math.min(x1, x2), Math.min(y1, y2), Math.max(x1, x2), Math.max(y1, y2)].map(Math.round);
  }

  function node(name, attributes, parent) {
    const element = document.createElementNS(SVG, name);
    Object.entries(attributes).forEach(([key, value]) => element.setAttribute(key, value));
    if (parent) parent.appendChild(element);
    return element;
  }

  function renderBoxes() {
    const layer = $("#boxes");
    layer.replaceChildren();
    layer.style.display = hidden ? "none" : "";
    const scale = viewBox[2] / $("#canvas").clientWidth || 1;
    const stroke = 2 * scale;
    const threshold = Number($("#threshold").value) || 0;
    // weaker suggestions first (underneath), dimmed and unlabelled below the threshold
    [...current.suggestions].filter((s) => s.data).sort((a, b) => a.score - b.score).forEach((suggestion) => {
      const [x1, y1, x2, y2] = suggestion.data;
      const color = (labelById[suggestion.label] || {}).color || "#ffffff";
      const isSelected = selected && selected.item === suggestion;
      const weak = suggestion.score < threshold && !isSelected;
      const group = node("g", { class: `suggestion${weak ? " weak" : ""}`, "data-suggestion": suggestion.id }, layer);
      node("rect", {
        x: x1, y: y1, width: x2 - x1, height: y2 - y1, stroke: color, fill: isSelected ? `${color}33` : "transparent",
        "stroke-width": stroke * (isSelected ? 1.6 : 1), "stroke-dasharray": `${6 * scale} ${4 * scale}`,
      }, group);
      if (weak) return;
      const text = node("text", { x: x1 + 3 * scale, y: y2 - 4 * scale, "font-size": 13 * scale, class: "tag" }, group);
      text.textContent = `${suggestion.label_name} ${Math.round(suggestion.score * 100)}%`;
    });
    current.objects.forEach((obj) => {
      const [x1, y1, x2, y2] = obj.data;
      const color = (labelById[obj.label] || {}).color || "#ffffff";
      const isSelected = selected && selected.item === obj;
      const group = node("g", { class: "object", "data-key": obj.key, "data-id": obj.ref.id || "", "data-label": obj.label }, layer);
      node("rect", {
        x: x1, y: y1, width: x2 - x1, height: y2 - y1, stroke: color,
        fill: isSelected ? `${color}40` : `${color}14`, "stroke-width": stroke * (isSelected ? 1.6 : 1), class: "body",
      }, group);
      const text = node("text", { x: x1 + 3 * scale, y: y1 + 14 * scale, "font-size": 13 * scale, class: "tag" }, group);
      text.textContent = (labelById[obj.label] || {}).name || "?";
      if (isSelected) {
        const size = 9 * scale;
        [["nw", x1, y1], ["ne", x2, y1], ["sw", x1, y2], ["se", x2, y2]].forEach(([corner, x, y]) => {
          node("rect", {
            x: x - size / 2, y: y - size / 2, width: size, height: size, class: `handle ${corner}`,
            "data-corner": corner, "stroke-width": scale,
          }, group);
        });
      }
    });
  }

  let gesture = null; // {kind: "draw"|"move"|"resize"|"pan", ...}
  let spaceDown = false;

  function findObject(target) {
    const group = target.closest("g.object");
    return group ? current.objects.find((obj) => String(obj.key) === group.dataset.key) : null;
  }

  function onPointerDown(event) {
    if (!current || event.button > 1) return;
    const svg = $("#canvas");
    svg.setPointerCapture(event.pointerId);
    if (spaceDown || event.button === 1) {
      gesture = { kind: "pan", x: event.clientX, y: event.clientY, start: [...viewBox] };
      return;
    }
    const start = toImage(event);
    const suggestionGroup = event.target.closest("g.suggestion");
    const obj = findObject(event.target);
    if (obj && !hidden) {
      select({ type: "object", item: obj });
      const corner = event.target.dataset.corner;
      gesture = { kind: corner ? "resize" : "move", obj, corner, start, before: [...obj.data] };
      return;
    }
    if (suggestionGroup && !hidden) {
      select({ type: "suggestion", item: current.suggestions.find((s) => s.id === suggestionGroup.dataset.suggestion) });
      return;
    }
    select(null);
    gesture = { kind: "draw", start, box: null };
  }

  function onPointerMove(event) {
    if (!gesture) return;
    if (gesture.kind === "pan") {
      const scale = viewBox[2] / $("#canvas").clientWidth;
      viewBox[0] = gesture.start[0] - (event.clientX - gesture.x) * scale;
      viewBox[1] = gesture.start[1] - (event.clientY - gesture.y) * scale;
      applyViewBox();
      return;
    }
    const [x, y] = toImage(event);
    const [sx, sy] = gesture.start;
    if (gesture.kind === "draw") {
      gesture.box = [sx, sy, x, y];
      const [x1, y1, x2, y2] = normal(gesture.box);
      const rect = $("#draft");
      rect.setAttribute("x", x1);
      rect.setAttribute("y", y1);
      rect.setAttribute("width", x2 - x1);
      rect.setAttribute("height", y2 - y1);
      rect.style.display = "";
    } else if (gesture.kind === "move") {
      const [x1, y1, x2, y2] = gesture.before;
      const dx = clamp(x - sx, -x1, current.width - x2);
      const dy = clamp(y - sy, -y1, current.height - y2);
      gesture.obj.data = [x1 + dx, y1 + dy, x2 + dx, y2 + dy].map(Math.round);
      renderBoxes();
    } else if (gesture.kind === "resize") {
      const box = [...gesture.before];
      if (gesture.corner.includes("w")) box[0] = x; else box[2] = x;
      if (gesture.corner.includes("n")) box[1] = y; else box[3] = y;
      gesture.obj.data = normal(box);
      renderBoxes();
    }
  }

  function onPointerUp() {
    const done = gesture;
    gesture = null;
    if (!done) return;
    if (done.kind === "draw") {
      $("#draft").style.display = "none";
      if (!done.box) return;
      const box = normal(done.box);
      if (box[2] - box[0] < MIN_SIDE || box[3] - box[1] < MIN_SIDE) return;
      if (!activeLabel) { showError("Add a label to the task first."); return; }
      const obj = { key: ++localKey, ref: { id: null }, label: activeLabel, data: box, labels: [] };
      perform(createCommand(obj));
      select({ type: "object", item: obj });
    } else if ((done.kind === "move" || done.kind === "resize") && String(done.obj.data) !== String(done.before)) {
      perform(changeCommand(done.obj, { data: done.before }, { data: [...done.obj.data] }), true);
    }
  }

  // ---- commands (undo/redo) and their saves ----
  function perform(command, alreadyApplied) {
    if (!alreadyApplied) command.apply();
    else command.save();
    undoStack.push(command);
    redoStack = [];
    renderAll();
  }

  // obj.ref is the server object a box is saved as; re-creating a box (undoing a delete) makes a new
  // one, so each queued request keeps the ref of its time and never touches the wrong object
  function saveCreate(data, obj) {
    const ref = { id: null };
    obj.ref = ref;
    const snapshot = { image: data.id, detection_label: obj.label, data: [...obj.data] };
    enqueue("Adding a box", async () => {
      const response = await api("POST", "detection/v2/object/", snapshot);
      if (response.ok) {
        ref.id = (await response.clone().json()).id;
        if (current === data) renderSide();
      }
      return response;
    });
  }

  function saveDelete(obj) {
    const ref = obj.ref;
    enqueue("Deleting a box", () => (ref.id ? api("DELETE", `detection/v2/object/${ref.id}/`) : Promise.resolve({ status: 204 })));
  }

  function saveChange(obj) {
    const ref = obj.ref;
    const snapshot = { detection_label: obj.label, data: [...obj.data] };
    enqueue("Changing a box", () => (ref.id ? api("PATCH", `detection/v2/object/${ref.id}/`, snapshot) : Promise.resolve({ status: 200 })));
  }

  function createCommand(obj) {
    const data = current;
    return {
      apply() { data.objects.push(obj); saveCreate(data, obj); },
      save() { saveCreate(data, obj); },
      revert() { data.objects.splice(data.objects.indexOf(obj), 1); saveDelete(obj); },
    };
  }

  function deleteCommand(obj) {
    const data = current;
    return {
      apply() { data.objects.splice(data.objects.indexOf(obj), 1); saveDelete(obj); },
      save() { saveDelete(obj); },
      revert() { data.objects.push(obj); saveCreate(data, obj); },
    };
  }

  function changeCommand(obj, before, after) {
    const set = (values) => {
      if (values.data) obj.data = [...values.data];
      if (values.label) obj.label = values.label;
      saveChange(obj);
    };
    return { apply() { set(after); }, save() { saveChange(obj); }, revert() { set(before); } };
  }

  function undo() {
    const command = undoStack.pop();
    if (!command) return;
    command.revert();
    redoStack.push(command);
    select(null);
  }

  function redo() {
    const command = redoStack.pop();
    if (!command) return;
    command.apply();
    undoStack.push(command);
    select(null);
  }

  // ---- the image's state: done, negative, verified; suggestions ----
  function review(extra) {
    const data = current;
    enqueue("Marking the image done", async () => {
      const response = await api("POST", "annotate/v2/review/", {
        task_id: config.task, image_id: data.id, state: "annotated", ...extra,
      });
      if (response.ok) {
        data.status = data.verify_count >= config.requiredVerifications ? "verified" : "annotated";
        if (extra.negative !== undefined) data.negative = extra.negative;
        renderStatus();
      }
      return response;
    });
  }

  function sendBack(comment) {
    const data = current;
    enqueue("Sending the image back", async () => {
      const response = await api("POST", "annotate/v2/review/", {
        task_id: config.task, image_id: data.id, state: "rejected", comment,
      });
      if (response.ok) {
        Object.assign(data, { status: "rejected", comment, verify_count: 0, verified_by_me: false });
        if (current === data) renderStatus();
      }
      return response;
    });
  }

  function verify() {
    const data = current;
    enqueue("Verifying the image", async () => {
      const response = await api("POST", "annotate/v2/verification/", { image_id: data.id });
      if (response.ok && !data.verified_by_me) {
        data.verified_by_me = true;
        data.verify_count += 1;
        if (data.status === "annotated" && data.verify_count >= config.requiredVerifications) data.status = "verified";
        renderStatus();
      }
      return response;
    });
  }

  function acceptSuggestion(suggestion) {
    const data = current;
    data.suggestions.splice(data.suggestions.indexOf(suggestion), 1);
    if (suggestion.data) {
      const ref = { id: null };
      const obj = { key: ++localKey, ref, label: suggestion.label, data: [...suggestion.data], labels: [] };
      data.objects.push(obj);
      undoStack.push({
        apply() { data.objects.push(obj); saveCreate(data, obj); },
        save() {},
        revert() { data.objects.splice(data.objects.indexOf(obj), 1); saveDelete(obj); },
      });
      enqueue("Accepting a suggestion", async () => {
        const response = await api("POST", `annotate/v2/suggestion/${suggestion.id}/accept/`, {});
        if (response.ok) {
          ref.id = (await response.clone().json()).accepted_object;
          if (current === data) renderSide();
        }
        return response;
      });
    } else {
      if (config.multiClass) data.image_labels = [];
      if (!data.image_labels.includes(suggestion.label)) data.image_labels.push(suggestion.label);
      if (config.multiClass) data.suggestions = [];
      enqueue("Accepting a suggestion", () => api("POST", `annotate/v2/suggestion/${suggestion.id}/accept/`, {}));
    }
    select(null);
  }

  function rejectSuggestion(suggestion) {
    current.suggestions.splice(current.suggestions.indexOf(suggestion), 1);
    enqueue("Rejecting a suggestion", () => api("POST", `annotate/v2/suggestion/${suggestion.id}/reject/`, {}));
    select(null);
  }

  function acceptAbove() {
    const threshold = Number($("#threshold").value);
    current.suggestions.filter((s) => s.score >= threshold).sort((a, b) => b.score - a.score)
      .forEach((suggestion) => { if (current.suggestions.includes(suggestion)) acceptSuggestion(suggestion); });
  }

  async function repeatPrevious() {
    if (index === 0) return;
    const previous = await fetchImage(queue[index - 1].id);
    const sx = current.width / previous.width;
    const sy = current.height / previous.height;
    previous.objects.forEach((source) => {
      const [x1, y1, x2, y2] = source.data;
      const obj = {
        key: ++localKey, ref: { id: null }, label: source.label, labels: [],
        data: normal([x1 * sx, y1 * sy, x2 * sx, y2 * sy]),
      };
      perform(createCommand(obj));
    });
  }

  // ---- labels: of objects, of the image, and categorization ----
  function toggleImageLabel(labelId) {
    const data = current;
    const has = data.image_labels.includes(labelId);
    if (has) {
      data.image_labels = data.image_labels.filter((id) => id !== labelId);
      enqueue("Removing a label", () => api("POST", `recognition/v2/training-image/${data.id}/remove-label/`, { label_id: labelId }));
    } else {
      const replaced = config.multiClass && !isDetection ? data.image_labels.filter((id) => labelById[id]) : [];
      replaced.forEach((old) => enqueue("Removing a label", () => api("POST", `recognition/v2/training-image/${data.id}/remove-label/`, { label_id: old })));
      data.image_labels = data.image_labels.filter((id) => !replaced.includes(id)).concat([labelId]);
      enqueue("Adding a label", () => api("POST", `recognition/v2/training-image/${data.id}/add-label/`, { label_id: labelId }));
    }
    renderAll();
  }

  function toggleObjectLabel(obj, labelId) {
    const has = obj.labels.includes(labelId);
    obj.labels = has ? obj.labels.filter((id) => id !== labelId) : obj.labels.concat([labelId]);
    const ref = obj.ref;
    enqueue("Labelling a box", () => api("POST", `detection/v2/object/${ref.id}/${has ? "remove" : "add"}-label/`, { label_id: labelId }));
    renderAll();
  }

  function pickLabel(number) {
    const label = labels[number - 1];
    if (!label) return;
    if (!isDetection) {
      const keep = config.multiClass && current.image_labels.includes(label.id);
      if (!keep) toggleImageLabel(label.id);
      if (config.multiClass) { review({}); go(index + 1); }
      return;
    }
    activeLabel = label.id;
    if (selected && selected.type === "object" && selected.item.label !== label.id) {
      perform(changeCommand(selected.item, { label: selected.item.label }, { label: label.id }));
    }
    renderAll();
  }

  // ---- rendering the panels ----
  function select(value) {
    selected = value;
    renderAll();
  }

  function renderAll() {
    if (!current) return;
    if (isDetection) renderBoxes();
    renderLabels();
    renderSide();
    renderStatus();
  }

  function renderLabels() {
    const list = $("#label-list");
    list.replaceChildren(...labels.map((label, at) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "label-pick";
      button.dataset.label = label.id;
      const chosen = isDetection ? label.id === activeLabel : current.image_labels.includes(label.id);
      button.setAttribute("aria-pressed", chosen ? "true" : "false");
      button.innerHTML = `<kbd>${at < 9 ? at + 1 : ""}</kbd><span class="swatch" style="background:${label.color}"></span>`;
      button.append(label.name);
      button.addEventListener("click", () => pickLabel(at + 1));
      return button;
    }));
  }

  function chips(container, options, chosen, onToggle) {
    container.replaceChildren(...options.map((label) => {
      const chip = document.createElement("button");
      chip.type = "button";
      chip.className = "chip";
      chip.setAttribute("aria-pressed", chosen.includes(label.id) ? "true" : "false");
      chip.textContent = label.name;
      chip.addEventListener("click", () => onToggle(label.id));
      return chip;
    }));
    if (!options.length) container.innerHTML = `<span class="small muted">${container.dataset.empty || "none"}</span>`;
  }

  function renderSide() {
    const suggestions = $("#suggestion-list");
    suggestions.replaceChildren(...current.suggestions.map((suggestion) => {
      const row = document.createElement("li");
      row.className = selected && selected.item === suggestion ? "selected" : "";
      row.innerHTML = `<span class="score">${Math.round(suggestion.score * 100)}%</span> `;
      row.append(suggestion.label_name);
      const accept = document.createElement("button");
      accept.type = "button"; accept.className = "btn small"; accept.textContent = "Accept";
      accept.addEventListener("click", () => acceptSuggestion(suggestion));
      const reject = document.createElement("button");
      reject.type = "button"; reject.className = "btn small ghost"; reject.textContent = "Reject";
      reject.addEventListener("click", () => rejectSuggestion(suggestion));
      row.append(accept, reject);
      row.addEventListener("click", (event) => { if (!event.target.closest("button")) select({ type: "suggestion", item: suggestion }); });
      return row;
    }));
    $("#suggestions-empty").hidden = current.suggestions.length > 0;
    if (isDetection) {
      chips($("#image-labels"), config.imageLabels, current.image_labels, toggleImageLabel);
      const objectPanel = $("#object-labels");
      const obj = selected && selected.type === "object" ? selected.item : null;
      $("#object-panel").hidden = !obj;
      if (obj) {
        const options = config.objectLabels[obj.label] || [];
        if (!obj.ref.id) objectPanel.innerHTML = '<span class="muted">saving the box…</span>';
        else chips(objectPanel, options, obj.labels, (id) => toggleObjectLabel(obj, id));
      }
      $("#box-count").textContent = `${current.objects.length} box${current.objects.length === 1 ? "" : "es"}`;
    }
  }

  const STATUS_NAMES = { todo: "to do", rejected: "sent back", annotated: "annotated", verified: "verified" };

  // an image with annotations of the task counts as annotated even before it is marked done
  function shownStatus() {
    const annotated = current.objects.length || current.negative || current.image_labels.some((id) => labelById[id]);
    return current.status === "todo" && annotated ? "annotated" : current.status;
  }

  function renderStatus() {
    const badge = $("#image-status");
    const status = shownStatus();
    badge.textContent = STATUS_NAMES[status] + (current.negative ? " · nothing to detect" : "");
    badge.dataset.status = status;
    $("#verify-count").textContent = `${current.verify_count} / ${config.requiredVerifications} verification${config.requiredVerifications > 1 ? "s" : ""}${current.verified_by_me ? " · verified by you" : ""}`;
    $("#review-comment").hidden = !current.comment;
    $("#review-comment").textContent = current.comment ? `Sent back: ${current.comment}` : "";
    $("#hidden-note").hidden = !hidden;
  }

  // ---- zoom and pan: the viewBox, in stored-image pixels ----
  let viewBox = [0, 0, 1, 1];

  function applyViewBox() { $("#canvas").setAttribute("viewBox", viewBox.join(" ")); renderBoxes(); }

  function fit() {
    const svg = $("#canvas");
    const ratio = svg.clientWidth / svg.clientHeight;
    let width = current.width;
    let height = current.height;
    if (width / height < ratio) width = height * ratio; else height = width / ratio;
    viewBox = [(current.width - width) / 2, (current.height - height) / 2, width, height];
    applyViewBox();
  }

  function onWheel(event) {
    if (!current) return;
    event.preventDefault();
    const [x, y] = toImageUnclamped(event);
    const factor = event.deltaY < 0 ? 0.8 : 1.25;
    viewBox = [x - (x - viewBox[0]) * factor, y - (y - viewBox[1]) * factor, viewBox[2] * factor, viewBox[3] * factor];
    applyViewBox();
  }

  function toImageUnclamped(event) {
    const svg = $("#canvas");
    const point = svg.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    const local = point.matrixTransform(svg.getScreenCTM().inverse());
    return [local.x, local.y];
  }

  // ---- keyboard ----
  function onKey(event) {
    if (event.target.closest("input, textarea, select")) {
      // Escape (or Enter outside a form) leaves the field: keys are shortcuts again
      if (event.key === "Escape" || (event.key === "Enter" && !event.target.form)) event.target.blur();
      return;
    }
    const key = event.key;
    const control = event.ctrlKey || event.metaKey;
    if (key === "?") { toggleHelp(); return; }
    if (!current) return;
    if (control && (key === "z" || key === "Z")) { event.preventDefault(); if (event.shiftKey) redo(); else undo(); return; }
    if (control && key === "y") { event.preventDefault(); redo(); return; }
    if (control) return;
    if (/^[1-9]$/.test(key)) { pickLabel(Number(key)); return; }
    const obj = selected && selected.type === "object" ? selected.item : null;
    const suggestion = selected && selected.type === "suggestion" ? selected.item : null;
    switch (key) {
      case "n": case "N": case "ArrowRight": go(index + 1); break;
      case "p": case "P": case "ArrowLeft": go(index - 1); break;
      case "Enter": review({}); go(index + 1); break;
      case "Escape": if ($("#help").open) $("#help").close(); else select(null); break;
      case "Delete": case "Backspace":
        if (obj) { perform(deleteCommand(obj)); select(null); } else if (suggestion) rejectSuggestion(suggestion);
        break;
      case "a":
        if (suggestion) acceptSuggestion(suggestion);
        else if (current.suggestions.length) acceptSuggestion([...current.suggestions].sort((x, y) => y.score - x.score)[0]);
        break;
      case "A": acceptAbove(); break;
      case "v": case "V": verify(); go(index + 1); break;
      case "x": case "X":
        if (!isDetection) return;
        if (current.objects.length) { showError("Delete the boxes first: an image with boxes is not negative."); return; }
        review({ negative: !current.negative }); go(index + 1); break;
      case "h": case "H": if (isDetection) { hidden = !hidden; renderAll(); } break;
      case "r": case "R": if (isDetection) repeatPrevious(); break;
      case "0": if (isDetection) fit(); break;
      case "Tab":
        if (!isDetection || !current.objects.length) return;
        event.preventDefault();
        {
          const at = obj ? current.objects.indexOf(obj) : -1;
          const next = (at + (event.shiftKey ? -1 : 1) + current.objects.length) % current.objects.length;
          select({ type: "object", item: current.objects[next] });
        }
        break;
      case " ": spaceDown = true; event.preventDefault(); break;
      default: return;
    }
  }

  function toggleHelp() {
    const help = $("#help");
    if (help.open) help.close(); else help.showModal();
  }

  $("#help-button").addEventListener("click", toggleHelp);
  if (!queue.length) {
    $("#empty-queue").hidden = false;
    document.addEventListener("keydown", (event) => { if (event.key === "?") toggleHelp(); });
    document.documentElement.dataset.editorReady = "true";
    return;
  }
  document.addEventListener("keydown", onKey);
  document.addEventListener("keyup", (event) => { if (event.key === " ") spaceDown = false; });
  $("#prev-button").addEventListener("click", () => go(index - 1));
  $("#next-button").addEventListener("click", () => go(index + 1));
  $("#done-button").addEventListener("click", () => { review({}); go(index + 1); });
  $("#verify-button").addEventListener("click", () => { verify(); go(index + 1); });
  $("#accept-above-button").addEventListener("click", acceptAbove);
  $("#send-back-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const field = $("#send-back-comment");
    if (!field.value.trim()) return;
    sendBack(field.value.trim());
    field.value = "";
    field.blur(); // keys are shortcuts again at once, not after the closed field loses focus on a later frame
    event.target.closest("details").open = false;
    go(index + 1);
  });
  $("#threshold").addEventListener("input", () => current && renderAll());
  if (isDetection) {
    const svg = $("#canvas");
    svg.addEventListener("pointerdown", onPointerDown);
    svg.addEventListener("pointermove", onPointerMove);
    svg.addEventListener("pointerup", onPointerUp);
    svg.addEventListener("wheel", onWheel, { passive: false });
    $("#negative-button").addEventListener("click", () => onKey({ key: "x", target: document.body }));
    $("#undo-button").addEventListener("click", undo);
    $("#redo-button").addEventListener("click", redo);
    window.addEventListener("resize", () => current && fit());
  }

  setSaveState("All changes saved", "saved");
  go(index).then(() => { document.documentElement.dataset.editorReady = "true"; });
})();
