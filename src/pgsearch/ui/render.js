// DOM builders. Document text and metadata only ever become text nodes (never HTML), so
// nothing stored in a document can run in this page.

// The API marks matched words between these private-use characters (`highlight: true`).
const START = "\uE000";
const STOP = "\uE001";

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

// A highlight string as text with <mark> elements around the marked words.
export function marked(highlight) {
  const fragment = document.createDocumentFragment();
  const [first, ...rest] = highlight.split(START);
  fragment.append(first);
  for (const part of rest) {
    const end = part.indexOf(STOP);
    const word = end < 0 ? part : part.slice(0, end);
    fragment.append(el("mark", { text: word }));
    if (end >= 0) fragment.append(part.slice(end + 1));
  }
  return fragment;
}

function shown(value) {
  return typeof value === "string" ? value : JSON.stringify(value);
}

// Metadata as a definition list, filled into `list`.
export function fillMetadata(list, metadata) {
  list.replaceChildren();
  for (const [key, value] of Object.entries(metadata || {})) {
    list.append(el("dt", { text: key }), el("dd", { text: shown(value) }));
  }
}

export function documentTitle(doc) {
  return doc.external_id || doc.metadata?.title || `document ${doc.document_id ?? doc.id}`;
}

export function showMessage(node, message) {
  node.textContent = message || "";
  node.hidden = !message;
}
