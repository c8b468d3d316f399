/**
 * The review's JSON API (README's "Review in the browser" lists it): each
 * route a function of the session and the request, answering JSON (or a
 * PNG); the errors a user can cause answered with their code and message:
 * 422 for a refused value (nothing written), 409 while another writer holds
 * the file (retry) or for an undo of values changed elsewhere, 404 for what
 * the review does not serve.
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { CacheFileError, FileInUseError, IndexRangeError, IndexTypeError, InvalidAttributeError } from "../base/errors.js";
import type { TraceUpdate } from "../cachefile/traceTypes.js";
import { ReviewError } from "./errors.js";
import { FLAG_NAMES, ptpOf } from "./flags.js";
import { sameValue } from "./history.js";
import { glassFigure, mapOf, pixelsOf, pointsOf } from "./mapview.js";
import { overview } from "./overview.js";
import type { ReviewFile } from "./reviewfile.js";
import type { ReviewSession } from "./session.js";
import { SECURITY_HEADERS } from "./security.js";
import { processedSamples, traceView } from "./traceview.js";

/** JSON with non-finite numbers as the texts "Infinity", "-Infinity" and "NaN" (JSON has no such numbers). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v));
}

/** Answers `status` with a JSON body. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = toJson(body);
  res.writeHead(status, { ...SECURITY_HEADERS, "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

/** Answers an error: `{ error: { code, message, ... } }`. */
export function sendError(res: ServerResponse, status: number, code: string, message: string, extra: Record<string, unknown> = {}): void {
  sendJson(res, status, { error: { code, message, ...extra } });
}

function sendBytes(res: ServerResponse, type: string, bytes: Buffer | Uint8Array): void {
  res.writeHead(200, { ...SECURITY_HEADERS, "Content-Type": type, "Content-Length": bytes.byteLength });
  res.end(bytes);
}

/** A request the API cannot take (400). */
class BadRequest extends ReviewError {
  constructor(message: string) {
    super("EREVIEWREQUEST", message);
  }
}

/** What the API does not serve (404). */
class NotFound extends Error {}

const MAX_BODY = 4 * 1024 * 1024;

/** The request's JSON body. */
async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new BadRequest(`the request body is larger than ${MAX_BODY} bytes: send fewer updates at a time`);
    chunks.push(chunk);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new BadRequest("the request body is not JSON: send a JSON object, such as { \"values\": { \"reject\": true } }");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new BadRequest("the request body must be a JSON object");
  return parsed as Record<string, unknown>;
}

function integer(text: string | undefined, what: string): number {
  if (text === undefined || !/^(0|[1-9][0-9]{0,8})$/.test(text)) throw new NotFound(`no ${what} ${text ?? ""}`);
  return Number(text);
}

function fileOf(session: ReviewSession, id: string | undefined): ReviewFile {
  const f = session.file(integer(id, "file"));
  if (!f) throw new NotFound(`no file ${id} in this review: the files are 0 to ${session.files.length - 1} (GET /api/files)`);
  f.fresh();
  return f;
}

function traceIndex(f: ReviewFile, text: string | undefined): number {
  const i = integer(text, "trace");
  const n = f.summary().traces;
  if (i >= n) throw new NotFound(`no trace ${i} in file ${f.id}: its traces are 0 to ${n - 1}`);
  return i;
}

function updateValues(v: unknown, where: string): TraceUpdate {
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new BadRequest(`expected the values to write as an object for ${where}, such as { "reject": true }`);
  return v as TraceUpdate;
}

function label(given: unknown, fallback: string): string {
  return typeof given === "string" && given.trim() !== "" ? given.slice(0, 200) : fallback;
}

function updatesOf(b: Record<string, unknown>, f: ReviewFile): { index: number; values: TraceUpdate }[] {
  const list = b["updates"];
  if (!Array.isArray(list) || list.length === 0) throw new BadRequest(`expected "updates": [{ "index": 3, "values": { ... } }, ...] (one or more)`);
  return list.map((u: unknown, k) => {
    const item = u as { index?: unknown; values?: unknown } | null;
    const index = item?.index;
    if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index >= f.summary().traces) {
      throw new BadRequest(`updates[${k}].index must be a trace index of file ${f.id} (0 to ${f.summary().traces - 1})`);
    }
    return { index, values: updateValues(item?.values, `updates[${k}].values`) };
  });
}

type Handler = (session: ReviewSession, m: RegExpExecArray, req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

const ROUTES: [string, RegExp, Handler][] = [
  ["GET", /^\/api\/files$/, async (s, _m, _q, res) => sendJson(res, 200, { files: s.files.map((f) => (f.fresh(), f.summary())), duplicates: s.duplicates })],
  ["GET", /^\/api\/files\/([^/]+)$/, async (s, m, _q, res) => sendJson(res, 200, fileOf(s, m[1]).summary())],
  [
    "GET",
    /^\/api\/files\/([^/]+)\/table$/,
    async (s, m, _q, res, url) => {
      const f = fileOf(s, m[1]);
      const t = url.searchParams.get("wait") === "0" ? f.table : await f.ready();
      if (!t) return sendJson(res, 200, { version: f.version, ready: false, progress: f.summary().progress });
      const rows = t.rows;
      sendJson(res, 200, {
        version: f.version,
        ready: true,
        origins: t.origins,
        originStart: t.originStart,
        originCounts: t.originCounts,
        flagNames: FLAG_NAMES,
        origin: rows.map((r) => r.origin),
        id: rows.map((r) => r.id),
        reject: rows.map((r) => r.reject),
        inspected: rows.map((r) => r.inspected),
        ptp: rows.map((r) => ptpOf(r)),
        negLat: rows.map((r) => r.negLat),
        posLat: rows.map((r) => r.posLat),
        onset: rows.map((r) => r.estimate?.onset_latency_ms ?? null),
        rms: rows.map((r) => r.estimate?.prestim_rms_uv ?? null),
        coords: rows.map((r) => r.coords),
        flags: rows.map((r) => r.flags),
      });
    },
  ],
  [
    "GET",
    /^\/api\/files\/([^/]+)\/traces\/([^/]+)$/,
    async (s, m, _q, res, url) => {
      const f = fileOf(s, m[1]);
      const trace = await f.trace(traceIndex(f, m[2]));
      sendJson(res, 200, traceView(f, trace, url.searchParams.get("samples") !== "none"));
    },
  ],
  [
    "GET",
    /^\/api\/files\/([^/]+)\/traces\/([^/]+)\/samples$/,
    async (s, m, _q, res, url) => {
      const f = fileOf(s, m[1]);
      const trace = await f.trace(traceIndex(f, m[2]));
      const data = url.searchParams.get("raw") === "1" ? trace.data : processedSamples(trace).data;
      res.setHeader("X-Shape", trace.shape.join(","));
      sendBytes(res, "application/octet-stream", new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    },
  ],
  [
    "PATCH",
    /^\/api\/files\/([^/]+)\/traces\/([^/]+)$/,
    async (s, m, req, res) => {
      const f = fileOf(s, m[1]);
      const index = traceIndex(f, m[2]);
      const b = await body(req);
      const values = updateValues(b["values"], "values");
      const r = await s.edit(f.id, [{ index, values }], label(b["label"], `set ${Object.keys(values).join(", ")} of trace ${index}`));
      sendJson(res, 200, { ...r.results[0], undo: r.undo, version: f.version });
    },
  ],
  [
    "PATCH",
    /^\/api\/files\/([^/]+)\/traces$/,
    async (s, m, req, res) => {
      const f = fileOf(s, m[1]);
      const b = await body(req);
      const updates = updatesOf(b, f);
      if (b["dryRun"] === true) {
        // What would change, value by value: nothing is written.
        await f.settled();
        const changes: { index: number; key: string; from: unknown; to: unknown }[] = [];
        let unchanged = 0;
        for (const u of updates) {
          const attrs = f.cf.traceSync(u.index).attrs as Record<string, unknown>;
          let any = false;
          for (const [key, to] of Object.entries(u.values)) {
            if (sameValue(attrs[key], to)) continue;
            changes.push({ index: u.index, key, from: attrs[key] ?? null, to });
            any = true;
          }
          if (!any) unchanged++;
        }
        return sendJson(res, 200, { dryRun: true, changes, unchanged });
      }
      const r = await s.edit(f.id, updates, label(b["label"], `update ${updates.length} traces`));
      sendJson(res, 200, { results: r.results, undo: r.undo, version: f.version });
    },
  ],
  [
    "GET",
    /^\/api\/files\/([^/]+)\/origins\/([^/]+)\/overview$/,
    async (s, m, _q, res, url) => {
      const f = fileOf(s, m[1]);
      const o = integer(m[2], "origin");
      if (o >= f.summary().origins.length) throw new NotFound(`no origin ${o} in file ${f.id}`);
      const from = Number(url.searchParams.get("from") ?? "-100");
      const to = Number(url.searchParams.get("to") ?? "200");
      if (!Number.isFinite(from) || !Number.isFinite(to) || !(from < to)) throw new BadRequest("from and to must be numbers (ms from the pulse) with from < to");
      sendJson(res, 200, await overview(f, o, from, to));
    },
  ],
  ["GET", /^\/api\/files\/([^/]+)\/map$/, async (s, m, _q, res) => sendJson(res, 200, (await mapOf(fileOf(s, m[1]))).meta)],
  ["GET", /^\/api\/files\/([^/]+)\/map\.png$/, async (s, m, _q, res) => sendBytes(res, "image/png", (await mapOf(fileOf(s, m[1]))).png)],
  ["GET", /^\/api\/files\/([^/]+)\/points$/, async (s, m, _q, res) => sendJson(res, 200, await pointsOf(fileOf(s, m[1])))],
  [
    "GET",
    /^\/api\/coil$/,
    async (_s, _m, _q, res, url) => {
      const xyz = (url.searchParams.get("xyz") ?? "").split(",").map(Number);
      if (xyz.length !== 3 || !xyz.every(Number.isFinite)) throw new BadRequest("xyz must be three numbers, x,y,z in MNI mm");
      sendJson(res, 200, { xyz, pixels: await pixelsOf(xyz as [number, number, number]) });
    },
  ],
  ["GET", /^\/api\/glass$/, async (_s, _m, _q, res) => sendJson(res, 200, await glassFigure().then((g) => ({ width: g.width, height: g.height, views: g.views })))],
  ["GET", /^\/api\/glass\.png$/, async (_s, _m, _q, res) => sendBytes(res, "image/png", await (await glassFigure()).toBuffer())],
  ["GET", /^\/api\/history$/, async (s, _m, _q, res) => sendJson(res, 200, s.history())],
  [
    "POST",
    /^\/api\/(undo|redo)$/,
    async (s, m, req, res) => {
      await body(req);
      const edit = m[1] === "undo" ? await s.undo() : await s.redo();
      sendJson(res, 200, { [m[1] === "undo" ? "undone" : "redone"]: edit.label, file: edit.file, indices: edit.changes.map((c) => c.index), version: s.file(edit.file)!.version, history: s.history() });
    },
  ],
];

/** Whether a method and path is a write (it must then be JSON from the page's origin). */
export function isWrite(method: string | undefined): boolean {
  return method !== "GET" && method !== "HEAD";
}

/**
 * Answers an API request (`/api/...`), the guards of security.ts passed.
 * Never throws: every failure is answered.
 */
export async function handleApi(session: ReviewSession, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  try {
    let allowed: string[] = [];
    for (const [method, pattern, handler] of ROUTES) {
      const m = pattern.exec(url.pathname);
      if (!m) continue;
      if (method !== req.method) {
        allowed.push(method);
        continue;
      }
      return await handler(session, m, req, res, url);
    }
    if (allowed.length > 0) {
      allowed = [...new Set(allowed)];
      res.setHeader("Allow", allowed.join(", "));
      return sendError(res, 405, "EMETHOD", `${req.method} is not answered here: use ${allowed.join(" or ")}`);
    }
    sendError(res, 404, "ENOTFOUND", `no such API route: ${url.pathname}`);
  } catch (e) {
    if (res.headersSent) {
      res.destroy(e as Error);
      return;
    }
    if (e instanceof NotFound) return sendError(res, 404, "ENOTFOUND", e.message);
    if (e instanceof IndexRangeError || e instanceof IndexTypeError) return sendError(res, 404, "ENOTFOUND", e.message);
    if (e instanceof InvalidAttributeError) return sendError(res, 422, e.code, e.message, { problems: e.problems });
    if (e instanceof FileInUseError) return sendError(res, 409, e.code, e.message, { retryable: true });
    if (e instanceof ReviewError) {
      const status = e.code === "EREVIEWREQUEST" ? 400 : 409;
      return sendError(res, status, e.code, e.message, e.code === "EREVIEWCONFLICT" ? { retryable: false } : {});
    }
    if (e instanceof TypeError && !(e instanceof CacheFileError)) return sendError(res, 400, "EREVIEWREQUEST", e.message);
    if (e instanceof CacheFileError) return sendError(res, 500, e.code, e.message);
    sendError(res, 500, "EINTERNAL", `internal error: ${e instanceof Error ? e.message : String(e)} (please report this)`);
  }
}
