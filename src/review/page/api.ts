/**
 * The page's side of the JSON API: the token from the URL's fragment (kept
 * for this tab, and set as the cookie that the map images are fetched
 * with), every request with `Authorization: Bearer TOKEN`, writes as JSON.
 * @module
 */

/** An answer that is not 2xx: the API's `{ error: { code, message, ... } }`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly problems: { key: string; message: string }[] = [],
    readonly retryable = false,
  ) {
    super(message);
  }
}

let token = "";

/** Reads the token from `#token=...` (or this tab's storage), sets the cookie, and clears the fragment from the address bar. */
export function initToken(): string {
  const m = /(?:^#|&)token=([0-9a-f]+)/.exec(location.hash);
  token = m ? m[1]! : (sessionStorage.getItem("cachefile-review-token") ?? "");
  if (m) {
    sessionStorage.setItem("cachefile-review-token", token);
    history.replaceState(null, "", location.pathname + location.search);
  }
  document.cookie = `cachefile-review-${location.port || "80"}=${token}; path=/; SameSite=Strict`;
  return token;
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}), cache: "no-store" });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string; problems?: { key: string; message: string }[]; retryable?: boolean } } | undefined)?.error;
    throw new ApiError(res.status, e?.code ?? `HTTP${res.status}`, e?.message ?? `${method} ${path} answered ${res.status}`, e?.problems ?? [], e?.retryable ?? false);
  }
  return json as T;
}

export const get = <T>(path: string) => request<T>("GET", path);

/** A picture (or other bytes) of the API. */
export async function blob(path: string): Promise<Blob> {
  const res = await fetch(path, { headers: { Authorization: `Bearer ${token}` }, cache: "no-store" });
  if (!res.ok) throw new ApiError(res.status, `HTTP${res.status}`, `${path} answered ${res.status}`);
  return res.blob();
}
export const patch = <T>(path: string, body: unknown) => request<T>("PATCH", path, body);
export const post = <T>(path: string, body: unknown) => request<T>("POST", path, body);

/** Typed values as the API sends them: non-finite numbers come as the texts "Infinity", "-Infinity", "NaN". */
export function num(v: unknown): number | null {
  if (typeof v === "number") return v;
  if (v === "Infinity") return Infinity;
  if (v === "-Infinity") return -Infinity;
  if (v === "NaN") return NaN;
  return null;
}
