// The search page: sign in, pick a user, search, open documents, upload files. Every action is
// one call to the same HTTP API as any other client (api.js).

import { ApiError, call, forgetKey, storeKey, storedKey } from "./api.js";
import { documentTitle, el, fillMetadata, marked, showMessage } from "./render.js";

const $ = (id) => document.getElementById(id);

// Files sent per upload request: small enough to stay under the body limit for typical
// documents, so one big folder becomes several requests and a bad batch stops no other.
const UPLOAD_FILES = 20;
const UPLOAD_BYTES = 8 * 1024 * 1024;

const state = { me: null, userId: null };

function message(err) {
  return err instanceof ApiError ? err.message : String(err);
}

// An API error shown in `node`; a 401 (the key was revoked meanwhile) signs out instead, with
// the server's message on the sign-in form.
function failed(node, err) {
  if (err.status === 401 && state.me?.auth) {
    signOut();
    showMessage($("sign-in-error"), message(err));
  } else {
    showMessage(node, message(err));
  }
}

// -- who is calling ------------------------------------------------------------------------

async function start() {
  const key = storedKey();
  try {
    state.me = await call("me", { key });
  } catch (err) {
    if (err.status === 401) {
      if (key) forgetKey();
      return showSignIn(key ? message(err) : "");
    }
    return showMessage($("boot-error"), message(err));
  }
  await showApp();
}

function showSignIn(error) {
  state.me = null;
  $("app").hidden = true;
  $("sign-out").hidden = true;
  $("who").textContent = "";
  $("sign-in").hidden = false;
  showMessage($("sign-in-error"), error);
  $("key").focus();
}

async function signIn(event) {
  event.preventDefault();
  const key = $("key").value.trim();
  try {
    state.me = await call("me", { key });
  } catch (err) {
    return showMessage($("sign-in-error"), message(err));
  }
  storeKey(key);
  $("key").value = "";
  $("sign-in").hidden = true;
  await showApp();
}

function signOut() {
  forgetKey();
  sessionStorage.removeItem("pgsearch.user");
  $("results").replaceChildren();
  $("upload-report").replaceChildren();
  showSignIn("");
}

async function showApp() {
  const me = state.me;
  $("sign-in").hidden = true;
  $("app").hidden = false;
  $("sign-out").hidden = !me.auth;
  if (!me.auth) $("who").textContent = "no API keys on this server (PGSEARCH_ADMIN_KEY unset)";
  else $("who").textContent = me.admin ? "signed in with the admin key" : `signed in as user ${me.user_id}`;
  if (me.admin) {
    $("user-pick").hidden = false;
    $("user-fixed").hidden = true;
    await loadUsers(Number(sessionStorage.getItem("pgsearch.user")) || null);
  } else {
    $("user-pick").hidden = true;
    $("user-fixed").hidden = false;
    $("user-fixed").textContent = `Your documents (user ${me.user_id})`;
    state.userId = me.user_id;
  }
}

// -- users (admin) --------------------------------------------------------------------------

async function loadUsers(selected) {
  let users;
  try {
    users = await call("users?limit=1000");
  } catch (err) {
    return failed($("user-error"), err);
  }
  showMessage($("user-error"), "");
  const select = $("user");
  select.replaceChildren(
    ...users.map((u) => el("option", { value: String(u.id), text: `${u.name} (${u.id})` })),
  );
  if (users.length === 0) {
    select.append(el("option", { value: "", text: "no users yet: create one" }));
  }
  if (selected && users.some((u) => u.id === selected)) select.value = String(selected);
  pickUser();
}

function pickUser() {
  state.userId = Number($("user").value) || null;
  if (state.userId) sessionStorage.setItem("pgsearch.user", String(state.userId));
  $("results").replaceChildren();
  $("search-status").textContent = "";
}

async function createUser(event) {
  event.preventDefault();
  try {
    const user = await call("users", { method: "POST", body: { name: $("new-user").value } });
    $("new-user").value = "";
    await loadUsers(user.id);
  } catch (err) {
    failed($("user-error"), err);
  }
}

function needUser(errorNode) {
  if (state.userId) return true;
  showMessage(errorNode, "create or pick a user first");
  return false;
}

// -- search ---------------------------------------------------------------------------------

async function search(event) {
  event.preventDefault();
  const error = $("search-error");
  showMessage(error, "");
  if (!needUser(error)) return;
  const body = {
    query: $("query").value,
    mode: $("mode").value,
    k: Number($("k").value),
    highlight: true,
  };
  const filter = $("filter").value.trim();
  if (filter) {
    try {
      body.filter = JSON.parse(filter);
    } catch (err) {
      return showMessage(error, `the filter is not valid JSON: ${err.message}`);
    }
  }
  $("search-status").textContent = "searching…";
  let response;
  try {
    response = await call(`users/${state.userId}/search`, { method: "POST", body });
  } catch (err) {
    $("search-status").textContent = "";
    $("results").replaceChildren();
    return failed(error, err);
  }
  const count = response.results.length;
  $("search-status").textContent =
    `${count} result${count === 1 ? "" : "s"} (${response.mode}${response.model ? `, ${response.model}` : ""})`;
  $("results").replaceChildren(...response.results.map(result));
}

function result(hit) {
  const open = el("button", { type: "button", class: "open", text: documentTitle(hit) });
  open.addEventListener("click", () => openDocument(hit.document_id));
  const meta = el("dl", { class: "meta" });
  fillMetadata(meta, hit.metadata);
  const excerpt = el("p", { class: "excerpt" });
  excerpt.append(hit.highlight == null ? hit.text : marked(hit.highlight));
  return el(
    "li",
    { class: "result", "data-document": String(hit.document_id) },
    el("div", { class: "result-head" }, open, el("span", { class: "score", text: hit.score.toFixed(4) })),
    excerpt,
    meta,
  );
}

// -- one document ---------------------------------------------------------------------------

async function openDocument(documentId) {
  const dialog = $("doc");
  $("doc-title").textContent = `document ${documentId}`;
  $("doc-text").textContent = "";
  $("doc-meta").replaceChildren();
  showMessage($("doc-error"), "");
  if (!dialog.open) dialog.showModal();
  try {
    const doc = await call(`users/${state.userId}/documents/${documentId}`);
    $("doc-title").textContent = documentTitle(doc);
    fillMetadata($("doc-meta"), {
      ...doc.metadata,
      chunks: doc.chunk_count,
      updated: doc.updated_at,
    });
    $("doc-text").textContent = doc.text;
  } catch (err) {
    if (err.status === 401) $("doc").close();
    failed($("doc-error"), err);
  }
}

// -- upload ---------------------------------------------------------------------------------

function batches(files) {
  const out = [];
  let current = [];
  let bytes = 0;
  for (const file of files) {
    if (current.length && (current.length >= UPLOAD_FILES || bytes + file.size > UPLOAD_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(file);
    bytes += file.size;
  }
  if (current.length) out.push(current);
  return out;
}

function reportLine(name, text, ok) {
  $("upload-report").append(
    el("li", { class: ok ? "ok" : "failed" }, el("span", { class: "file", text: name }), ` ${text}`),
  );
}

async function upload(files) {
  const error = $("upload-error");
  showMessage(error, "");
  if (!files.length || !needUser(error)) return;
  const metadata = $("upload-metadata").value.trim();
  if (metadata) {
    try {
      JSON.parse(metadata);
    } catch (err) {
      return showMessage(error, `the metadata is not valid JSON: ${err.message}`);
    }
  }
  $("upload-report").replaceChildren();
  const parts = batches(files);
  let done = 0;
  for (const batch of parts) {
    $("upload-status").textContent = `uploading ${done + 1}–${done + batch.length} of ${files.length}…`;
    const form = new FormData();
    // A folder's files keep their path inside it: the name is the document's id.
    for (const file of batch) form.append("files", file, file.webkitRelativePath || file.name);
    if (metadata) form.append("metadata", metadata);
    try {
      const answer = await call(`users/${state.userId}/files`, { method: "POST", body: form });
      for (const d of answer.documents) reportLine(d.filename, `${d.status}, ${d.chunks} chunk${d.chunks === 1 ? "" : "s"}`, true);
      for (const e of answer.errors) reportLine(e.filename, e.error, false);
    } catch (err) {
      for (const file of batch) reportLine(file.webkitRelativePath || file.name, message(err), false);
      if (err.status === 401) return failed(error, err);
    }
    done += batch.length;
  }
  const failed = $("upload-report").querySelectorAll(".failed").length;
  $("upload-status").textContent =
    `${files.length - failed} of ${files.length} file${files.length === 1 ? "" : "s"} stored`;
}

// Files dropped, folders included (read recursively through the entries API).
async function droppedFiles(items) {
  const files = [];
  const readAll = (reader) =>
    new Promise((resolve, reject) => {
      const entries = [];
      const next = () =>
        reader.readEntries((batch) => {
          if (!batch.length) return resolve(entries);
          entries.push(...batch);
          next();
        }, reject);
      next();
    });
  const walk = async (entry, prefix) => {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      files.push(prefix ? new File([file], prefix + file.name, { type: file.type }) : file);
    } else if (entry.isDirectory) {
      for (const child of await readAll(entry.createReader())) {
        await walk(child, `${prefix}${entry.name}/`);
      }
    }
  };
  const entries = [...items].map((item) => item.webkitGetAsEntry?.()).filter(Boolean);
  for (const entry of entries) await walk(entry, "");
  return files;
}

function wireDrop() {
  const zone = $("drop");
  for (const name of ["dragenter", "dragover"]) {
    zone.addEventListener(name, (event) => {
      event.preventDefault();
      zone.classList.add("over");
    });
  }
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", async (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    const items = event.dataTransfer.items;
    const files = items?.length ? await droppedFiles(items) : [...event.dataTransfer.files];
    await upload(files.length ? files : [...event.dataTransfer.files]);
  });
  for (const id of ["files", "folder"]) {
    $(id).addEventListener("change", async (event) => {
      await upload([...event.target.files]);
      event.target.value = "";
    });
  }
}

// -- wiring ---------------------------------------------------------------------------------

$("sign-in-form").addEventListener("submit", signIn);
$("sign-out").addEventListener("click", signOut);
$("user").addEventListener("change", pickUser);
$("new-user-form").addEventListener("submit", createUser);
$("search-form").addEventListener("submit", search);
$("doc-close").addEventListener("click", () => $("doc").close());
wireDrop();
start();
