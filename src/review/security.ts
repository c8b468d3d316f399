/**
 * The review server's guards, as local web tools (Jupyter, TensorBoard)
 * keep them: requests must name this machine (or the `--host` given) in
 * `Host`, against DNS rebinding; API requests must carry the launch's
 * token (`Authorization: Bearer TOKEN`, or the cookie the page sets from
 * the URL's fragment); writes must be JSON from the page's own origin; the
 * page may load nothing from elsewhere (Content-Security-Policy), and no
 * other origin may read an answer (no CORS headers are ever sent).
 * @module
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

/** A new random token (32 bytes, hex). */
export function newToken(): string {
  return randomBytes(32).toString("hex");
}

/**
 * The cookies that may hold the token: `cachefile-review-PORT`, PORT the
 * one the browser sees (cookies are shared by every port of a host; under
 * `ssh -L` the browser's port is not the server's).
 */
export const COOKIE_PREFIX = "cachefile-review-";

/** The host name of a Host header (`[::1]:8080` → `[::1]`), lower case; undefined when malformed. */
export function hostName(host: string | undefined): string | undefined {
  if (host === undefined) return undefined;
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\[\]\s/@]+)(?::([0-9]{1,5}))?$/.exec(host.trim());
  return m ? m[1]!.toLowerCase() : undefined;
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Whether a Host header names this machine's loopback (any port) or the host the server was told to listen on. */
export function hostAllowed(host: string | undefined, listenHost: string | undefined): boolean {
  const name = hostName(host);
  if (name === undefined) return false;
  if (LOOPBACK.has(name)) return true;
  if (listenHost === undefined) return false;
  const own = listenHost.includes(":") && !listenHost.startsWith("[") ? `[${listenHost}]` : listenHost;
  return name === own.toLowerCase();
}

/** The tokens a request carries: its bearer token, else its review cookies' values; undefined when none. */
export function tokensOf(req: IncomingMessage): string[] | undefined {
  const auth = req.headers.authorization;
  if (auth !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return [m ? m[1]! : ""];
  }
  const found: string[] = [];
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim().startsWith(COOKIE_PREFIX)) found.push(part.slice(eq + 1).trim());
  }
  return found.length > 0 ? found : undefined;
}

/** Whether `given` is the token (compared in constant time). */
export function tokenMatches(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Whether a write comes from the page's own origin: `Origin` is `http://` and the Host the request was sent to. */
export function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  const host = req.headers.host;
  return origin !== undefined && host !== undefined && origin.toLowerCase() === `http://${host.toLowerCase()}`;
}

/** Whether a request's body is declared JSON. */
export function isJson(req: IncomingMessage): boolean {
  const type = req.headers["content-type"];
  return typeof type === "string" && /^application\/json\s*(;|$)/i.test(type);
}

/** The page's Content-Security-Policy: its own scripts, styles, images and API, nothing else, never framed. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Headers every answer carries. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "Content-Security-Policy": CONTENT_SECURITY_POLICY,
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cache-Control": "no-store",
});
