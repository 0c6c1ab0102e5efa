// The pgsearch HTTP API as the page uses it: same origin, the key as a bearer token, and every
// error carried with the server's own message.

const KEY = "pgsearch.key";

// The API lives one level above the page (`/ui/` → `/`), wherever the service is mounted.
const base = new URL("../", document.baseURI);

export class ApiError extends Error {
  constructor(status, detail) {
    super(describe(status, detail));
    this.status = status;
    this.detail = detail;
  }
}

// The server's message as it is: a string, or the list of validation problems (422).
function describe(status, detail) {
  if (Array.isArray(detail)) {
    const lines = detail.map((item) => {
      const where = (item.loc || []).join(".");
      return where ? `${where}: ${item.msg}` : String(item.msg);
    });
    return `${status}: ${lines.join("\n")}`;
  }
  return `${status}: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`;
}

export function storedKey() {
  return sessionStorage.getItem(KEY);
}

export function storeKey(key) {
  sessionStorage.setItem(KEY, key);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY);
}

// `path` is relative to the API root ("me", "users/3/search"); `body` is JSON or FormData.
export async function call(path, { method = "GET", body, key = storedKey() } = {}) {
  const headers = {};
  if (key) headers.Authorization = `Bearer ${key}`;
  let payload = body;
  if (body !== undefined && !(body instanceof FormData)) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(new URL(path, base), { method, headers, body: payload });
  } catch (err) {
    throw new ApiError(0, `the server did not answer (${err.message})`);
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = text;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON (a proxy's error page): shown as it is below.
  }
  if (!response.ok) {
    const detail = data && typeof data === "object" && "detail" in data ? data.detail : text;
    throw new ApiError(response.status, detail || response.statusText);
  }
  return data;
}
