// The web app's behaviour: dialogs, confirmations, uploads with progress, selection, drop-to-predict.
// Plain JavaScript; htmx does the partial page updates declared in the templates.
"use strict";

function csrfToken() {
  const field = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (field) return field.value;
  const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

function escapeHtml(text) {
  const div = document.createElement("div");
  div.textContent = text;
  return div.innerHTML;
}

// dialogs: <button data-open="id"> opens <dialog id="id">, [data-close] closes the dialog it is in
document.addEventListener("click", (event) => {
  const opener = event.target.closest("[data-open]");
  if (opener) {
    const dialog = document.getElementById(opener.dataset.open);
    if (dialog && !dialog.open) dialog.showModal();
  }
  const closer = event.target.closest("[data-close]");
  if (closer) closer.closest("dialog").close();
});

// <form data-confirm="what will happen"> asks before it submits
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
});

// <select data-submit-on-change> submits its form
document.addEventListener("change", (event) => {
  if (event.target.matches("select[data-submit-on-change]")) event.target.form.submit();
});

// drop zones: <div class="drop" data-input="file input id">: a click opens the picker, a drop fills it
function wireDropZone(zone, onFiles) {
  const input = document.getElementById(zone.dataset.input);
  zone.addEventListener("click", () => input.click());
  zone.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); input.click(); }
  });
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    onFiles(Array.from(event.dataTransfer.files));
  });
  input.addEventListener("change", () => { onFiles(Array.from(input.files)); input.value = ""; });
}

// uploads: batches of files go to the form's action; each batch gets a progress bar and its refusals
const UPLOAD_BATCH = 10;

function sendBatch(url, form, files, row) {
  return new Promise((resolve) => {
    const body = new FormData(form);
    body.delete("files");
    files.forEach((file) => body.append("files", file, file.name));
    const request = new XMLHttpRequest();
    request.open("POST", url);
    request.setRequestHeader("X-CSRFToken", csrfToken());
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) row.querySelector(".progress span").style.width = `${(100 * event.loaded) / event.total}%`;
    });
    request.addEventListener("load", () => {
      let answer = null;
      try { answer = JSON.parse(request.responseText); } catch (error) { answer = null; }
      const done = row.querySelector(".status");
      if (!answer || request.status >= 500) {
        done.textContent = "the server could not take this batch; try again";
        resolve({ stored: 0, refused: files.length });
        return;
      }
      if (answer.error) {
        done.textContent = answer.error;
        resolve({ stored: 0, refused: files.length });
        return;
      }
      row.querySelector(".progress span").style.width = "100%";
      done.textContent = `${answer.stored.length} stored` + (answer.refused.length ? `, ${answer.refused.length} refused` : "");
      if (answer.refused.length) {
        const list = document.createElement("ul");
        list.className = "refused";
        list.innerHTML = answer.refused.map((item) => `<li>${escapeHtml(item.name)}: ${escapeHtml(item.reason)}</li>`).join("");
        row.appendChild(list);
      }
      resolve({ stored: answer.stored.length, refused: answer.refused.length });
    });
    request.addEventListener("error", () => {
      row.querySelector(".status").textContent = "network error; try again";
      resolve({ stored: 0, refused: files.length });
    });
    request.send(body);
  });
}

async function uploadFiles(form, files) {
  const list = form.querySelector(".uploads");
  const summary = form.querySelector("[data-upload-summary]");
  let stored = 0, refused = 0;
  if (summary) delete summary.dataset.done;
  for (let start = 0; start < files.length; start += UPLOAD_BATCH) {
    const batch = files.slice(start, start + UPLOAD_BATCH);
    const row = document.createElement("div");
    row.className = "batch";
    row.innerHTML = `<div class="row between small"><span>Files ${start + 1}–${start + batch.length} of ${files.length}</span><span class="status muted">uploading…</span></div><div class="progress"><span style="width:0%"></span></div>`;
    list.appendChild(row);
    const result = await sendBatch(form.action, form, batch, row);
    stored += result.stored;
    refused += result.refused;
    if (summary) summary.textContent = `${stored} stored, ${refused} refused of ${files.length}.`;
  }
  if (!summary) return;
  summary.textContent = `All done: ${stored} stored, ${refused} refused of ${files.length}.`;
  if (form.dataset.reload !== undefined) summary.insertAdjacentHTML("beforeend", ' <a href="">Show them</a>');
  summary.dataset.done = "1";
}

document.querySelectorAll("form[data-upload]").forEach((form) => {
  const zone = form.querySelector(".drop");
  wireDropZone(zone, (files) => { if (files.length) uploadFiles(form, files); });
});

// drop an image to test a model: the answer's HTML replaces the form's target
document.querySelectorAll("form[data-predict]").forEach((form) => {
  const zone = form.querySelector(".drop");
  const target = document.getElementById(form.dataset.predict);
  const send = (body) => {
    target.innerHTML = '<div class="progress indeterminate"><span></span></div><p class="muted small">Asking the model…</p>';
    fetch(form.action, { method: "POST", body, headers: { "X-CSRFToken": csrfToken() } })
      .then((response) => (response.status < 500 ? response.text() : Promise.reject(response.status)))
      .then((html) => { target.innerHTML = html; })
      .catch(() => { target.innerHTML = '<div class="flash error" role="alert">The server could not answer; try again.</div>'; });
  };
  wireDropZone(zone, (files) => {
    if (!files.length) return;
    const body = new FormData(form);
    body.set("image", files[0], files[0].name);
    body.delete("url");
    send(body);
  });
  form.addEventListener("submit", (event) => { event.preventDefault(); send(new FormData(form)); });
});

// image grid selection: checkboxes of .thumb cards feed the bulk bar's form
function refreshSelection(grid) {
  const picked = Array.from(grid.querySelectorAll(".pick:checked"));
  grid.querySelectorAll(".thumb").forEach((card) => card.classList.toggle("selected", card.querySelector(".pick").checked));
  const bar = document.getElementById(grid.dataset.bulkbar);
  if (!bar) return;
  bar.hidden = picked.length === 0;
  bar.querySelector("[data-count]").textContent = `${picked.length} selected`;
  const holder = bar.querySelector("[data-ids]");
  holder.innerHTML = picked.map((box) => `<input type="hidden" name="images" value="${box.value}">`).join("");
}

document.addEventListener("change", (event) => {
  if (event.target.matches(".thumb .pick")) refreshSelection(event.target.closest("[data-selectable]"));
});
document.addEventListener("click", (event) => {
  const all = event.target.closest("[data-select-all]");
  if (!all) return;
  const grid = document.getElementById(all.dataset.selectAll);
  const boxes = grid.querySelectorAll(".pick");
  const everything = Array.from(boxes).every((box) => box.checked);
  boxes.forEach((box) => { box.checked = !everything; });
  refreshSelection(grid);
});

// every handler above is wired: tests (and impatient people) may drop files now
document.documentElement.dataset.ready = "true";
