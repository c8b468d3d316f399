/**
 * `startReview`: the review server, Node's `http` on 127.0.0.1 (or the
 * host given), its token, its guards (security.ts), the page's files and
 * the JSON API (api.ts).
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { handleApi, isWrite, sendError } from "./api.js";
import { loadAssets, type Asset } from "./assets.js";
import { glassFigure, mapOf } from "./mapview.js";
import { ReviewError } from "./errors.js";
import { hostAllowed, isJson, newToken, sameOrigin, SECURITY_HEADERS, tokenMatches, tokensOf } from "./security.js";
import { ReviewSession } from "./session.js";

/** Options of {@link startReview}. */
export interface ReviewOptions {
  /** The port (default 0: a free one). */
  port?: number;
  /** The address to listen on (default `127.0.0.1`); another than loopback exposes the files to whoever reaches it and has the token. */
  host?: string;
  /** How long a write waits for another writer to let go of a file before it answers 409, ms (default 1000). */
  lockTimeout?: number;
}

/** A running review. */
export interface Review {
  /** The page's address with the token in its fragment: `http://127.0.0.1:PORT/#token=TOKEN`. */
  readonly url: string;
  readonly port: number;
  readonly token: string;
  /** Paths given more than once (each file is reviewed once). */
  readonly duplicates: readonly string[];
  /** Stops serving, waits for a write under way, and lets go of the files. */
  close(): Promise<void>;
}

function checkOptions(options: ReviewOptions): { port: number; host: string; lockTimeout: number; custom: boolean } {
  if (options === null || typeof options !== "object") throw new ReviewError("EREVIEWOPTION", "expected an options object such as { port: 0 }");
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ReviewError("EREVIEWOPTION", `expected a port from 0 to 65535 (0: a free one), got ${String(port)}`);
  const host = options.host ?? "127.0.0.1";
  if (typeof host !== "string" || host.trim() === "" || /[\s/@]/.test(host)) throw new ReviewError("EREVIEWOPTION", `expected a host name or address to listen on, got ${JSON.stringify(host)}`);
  const lockTimeout = options.lockTimeout ?? 1000;
  if (typeof lockTimeout !== "number" || !Number.isFinite(lockTimeout) || lockTimeout < 0) throw new ReviewError("EREVIEWOPTION", `expected lockTimeout in ms (>= 0), got ${String(lockTimeout)}`);
  return { port, host, lockTimeout, custom: options.host !== undefined && !["127.0.0.1", "localhost", "::1"].includes(host) };
}

function sendAsset(res: ServerResponse, asset: Asset, head: boolean): void {
  res.writeHead(200, { ...SECURITY_HEADERS, "Content-Type": asset.type, "Content-Length": asset.bytes.length });
  res.end(head ? undefined : asset.bytes);
}

/**
 * Serves the review of `files` (CacheFiles, by path; the same file given
 * twice is reviewed once) until `close()`. Viewing writes nothing; every
 * edit is written at once through `cf.update`/`cf.updateMany`.
 *
 * @example
 * ```ts
 * import { startReview } from "offspect-cachefile/review";
 * const review = await startReview(["S01.hdf5"], { port: 0 });
 * console.log(review.url); // http://127.0.0.1:PORT/#token=...
 * await review.close();
 * ```
 * @throws {ReviewError} `EREVIEWOPTION` for bad options or no files, `EREVIEWLISTEN` when the port is taken or the host not this machine's, `EREVIEWPAGE` without the page bundle
 * @throws the errors of opening a CacheFile (FileNotFoundError, InvalidSuffixError, NotHdf5Error, ...)
 */
export async function startReview(files: readonly string[], options: ReviewOptions = {}): Promise<Review> {
  const { port, host, lockTimeout, custom } = checkOptions(options);
  const assets = loadAssets();
  const session = await ReviewSession.open(files, lockTimeout);
  // The coil view's glass brain, which every trace's coil pixels are computed on: drawn while the page loads.
  glassFigure().catch(() => undefined);
  // The map of each file's new state is drawn as soon as the file changes, before the page asks for it.
  for (const f of session.files) f.onChange = () => void mapOf(f).catch(() => undefined);
  const token = newToken();
  const listenHost = custom ? host : undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!hostAllowed(req.headers.host, listenHost)) {
      return sendError(res, 403, "EHOST", `the Host ${JSON.stringify(req.headers.host ?? "")} is not this review's: open the URL it printed (127.0.0.1 or localhost)`);
    }
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (!url.pathname.startsWith("/api/")) {
      const asset = assets.get(url.pathname);
      if (asset && (req.method === "GET" || req.method === "HEAD")) return sendAsset(res, asset, req.method === "HEAD");
      if (asset) return sendError(res, 405, "EMETHOD", `${req.method} is not answered here: use GET`);
      if (url.pathname === "/favicon.ico") {
        res.writeHead(204, SECURITY_HEADERS);
        return void res.end();
      }
      return sendError(res, 404, "ENOTFOUND", `no such page: ${url.pathname}`);
    }
    const given = tokensOf(req);
    if (given === undefined) return sendError(res, 401, "ETOKEN", "this API needs the review's token: send Authorization: Bearer TOKEN (the token is in the URL cachefile review printed)");
    if (!given.some((g) => tokenMatches(g, token))) return sendError(res, 403, "ETOKEN", "wrong token: use the one in the URL cachefile review printed at this launch");
    if (isWrite(req.method)) {
      if (!sameOrigin(req)) return sendError(res, 403, "EORIGIN", "writes must come from the review page's own origin (send Origin: http://HOST:PORT, the address in use)");
      if (!isJson(req)) return sendError(res, 415, "ECONTENTTYPE", "writes must be JSON: send Content-Type: application/json");
    }
    await handleApi(session, req, res, url);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) sendError(res, 500, "EINTERNAL", `internal error: ${e instanceof Error ? e.message : String(e)} (please report this)`);
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (e) {
    await session.close();
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === "EADDRINUSE"
        ? `port ${port} is in use: pass another port, or 0 for a free one`
        : code === "EADDRNOTAVAIL" || code === "ENOTFOUND"
          ? `${host} is not an address of this machine: leave the host out (127.0.0.1), or name one of this machine's`
          : code === "EACCES"
            ? `port ${port} needs privileges: pick one above 1023, or 0 for a free one`
            : (e as Error).message;
    throw new ReviewError("EREVIEWLISTEN", `cannot serve the review on ${host}:${port}: ${why}`, { cause: e });
  }
  const actualPort = (server.address() as AddressInfo).port;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${actualPort}/#token=${token}`,
    port: actualPort,
    token,
    duplicates: session.duplicates,
    close(): Promise<void> {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        await session.close();
      })();
      return closing;
    },
  };
}
