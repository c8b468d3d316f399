/**
 * The review server over raw HTTP (Node's http client, so that Host and
 * Origin are what the test says): the token, the Host check against DNS
 * rebinding, same-origin JSON writes, no CORS, a strict CSP, only the named
 * files, 422 for a refused value and 409 while another writer holds the
 * file (nothing written either way), undo/redo, following another
 * program's change, and that viewing writes nothing.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { request } from "node:http";
import { statSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReview, type Review } from "../../src/review/index.js";
import { copyFixture, fileSha256, PYTHON, python, tempDir } from "../helpers/fixtures.js";

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: () => any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

function raw(port: number, options: { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method: options.method ?? "GET", path: options.path, headers: { Host: `127.0.0.1:${port}`, ...options.headers } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body, json: () => JSON.parse(body) }));
    });
    req.on("error", reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

const tmp = tempDir("ocf-review-http-");
let file: string;
let other: string;
let review: Review;
let port: number;
let auth: Record<string, string>;
let write: Record<string, string>;

/** h5py's reading of one trace's stored attributes. */
function h5attrs(path: string, index: number): Record<string, string> {
  return python<Record<string, string>>(
    `import h5py, json, sys
f = h5py.File(sys.argv[1], "r")
paths = [f"{o}/traces/{k}" for o in f.keys() for k in sorted(f[o]["traces"].keys(), key=int)]
print(json.dumps({k: str(v) for k, v in f[paths[int(sys.argv[2])]].attrs.items()}))`,
    [path, String(index)],
  );
}

beforeAll(async () => {
  file = copyFixture("map_session.hdf5", tmp.dir);
  other = copyFixture("template_R001.hdf5", tmp.dir);
  review = await startReview([file, other, file], { port: 0, lockTimeout: 300 });
  port = review.port;
  auth = { Authorization: `Bearer ${review.token}` };
  write = { ...auth, Origin: `http://127.0.0.1:${port}`, "Content-Type": "application/json" };
  // The tables are built in the background: wait for them.
  await raw(port, { path: "/api/files/0/table", headers: auth });
  await raw(port, { path: "/api/files/1/table", headers: auth });
});
afterAll(async () => {
  await review?.close();
  tmp.cleanup();
});

describe("the URL and the files", () => {
  it("prints the loopback URL with a random token in its fragment, and reviews a file given twice once", async () => {
    expect(review.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/#token=[0-9a-f]{64}$`));
    expect(review.url.endsWith(review.token)).toBe(true);
    expect(review.duplicates).toEqual([file]);
    const files = (await raw(port, { path: "/api/files", headers: auth })).json();
    expect(files.files.map((f: { id: number; name: string; traces: number }) => [f.id, f.name, f.traces])).toEqual([
      [0, "map_session.hdf5", 120],
      [1, "template_R001.hdf5", 2],
    ]);
    expect(files.files[0].status).toEqual({ uninspected: 9, rejected: 12, annotated: 99 });
    expect(files.files[0].origins).toEqual(["S07_map_run1.xdf", "S07_map_run2.xdf", "S07_map_run3.xdf"]);
  });
});

describe("the token", () => {
  it("is not needed for the page, which holds no data", async () => {
    const page = await raw(port, { path: "/" });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script src="app.js"');
    expect((await raw(port, { path: "/app.js" })).status).toBe(200);
  });

  it("is needed for every API request: none → 401, a wrong one → 403, the right one by header or cookie → 200", async () => {
    for (const path of ["/api/files", "/api/files/0/traces/0", "/api/files/0/map.png", "/api/history", "/api/glass.png"]) {
      expect((await raw(port, { path })).status, path).toBe(401);
      expect((await raw(port, { path, headers: { Authorization: `Bearer ${"0".repeat(64)}` } })).status, path).toBe(403);
      expect((await raw(port, { path, headers: { Cookie: `cachefile-review-9999=${"1".repeat(64)}` } })).status, path).toBe(403);
    }
    expect((await raw(port, { path: "/api/files", headers: auth })).status).toBe(200);
    // Under ssh -L the browser's port differs from the server's: the cookie is named by the browser's.
    expect((await raw(port, { path: "/api/files", headers: { Cookie: `other=1; cachefile-review-9000=${review.token}` } })).status).toBe(200);
    const none = await raw(port, { method: "PATCH", path: "/api/files/0/traces/0", headers: { ...write, Authorization: "" }, body: '{"values":{"reject":true}}' });
    expect([401, 403]).toContain(none.status);
  });
});

describe("the Host check (DNS rebinding)", () => {
  it("refuses a Host that is not a loopback name", async () => {
    for (const host of ["evil.example", `evil.example:${port}`, "127.0.0.2", "192.168.1.10", `localhost.evil.example:${port}`, "127.0.0.1@evil.example"]) {
      const r = await raw(port, { path: "/api/files", headers: { ...auth, Host: host } });
      expect(r.status, host).toBe(403);
      expect(r.json().error.code).toBe("EHOST");
      expect((await raw(port, { path: "/", headers: { Host: host } })).status, host).toBe(403);
    }
  });

  it("takes localhost, 127.0.0.1 and [::1] on any port (ssh -L forwards another)", async () => {
    for (const host of [`localhost:${port}`, "localhost:9000", "127.0.0.1:9000", "[::1]:9000", "LOCALHOST"]) {
      expect((await raw(port, { path: "/api/files", headers: { ...auth, Host: host } })).status, host).toBe(200);
    }
  });
});

describe("writes", () => {
  it("need an Origin that is the page's own and a JSON body; refused ones write nothing", async () => {
    const before = fileSha256(file);
    const body = '{"values":{"reject":false}}';
    const path = "/api/files/0/traces/3"; // rejected in the fixture
    const cases: [Record<string, string>, number, string][] = [
      [{ ...write, Origin: "http://evil.example" }, 403, "EORIGIN"],
      [{ ...write, Origin: `http://127.0.0.1:${port + 1}` }, 403, "EORIGIN"],
      [{ ...write, Origin: "null" }, 403, "EORIGIN"],
      [Object.fromEntries(Object.entries(write).filter(([k]) => k !== "Origin")), 403, "EORIGIN"],
      [{ ...write, "Content-Type": "text/plain" }, 415, "ECONTENTTYPE"],
      [{ ...write, "Content-Type": "application/x-www-form-urlencoded" }, 415, "ECONTENTTYPE"],
    ];
    for (const [headers, status, code] of cases) {
      const r = await raw(port, { method: "PATCH", path, headers, body });
      expect(r.status, JSON.stringify(headers)).toBe(status);
      expect(r.json().error.code).toBe(code);
    }
    expect((await raw(port, { method: "POST", path: "/api/undo", headers: { ...write, Origin: "http://evil.example" }, body: "{}" })).status).toBe(403);
    expect(fileSha256(file)).toBe(before);
  });

  it("send no CORS headers, answer a preflight with 405, and carry a strict Content-Security-Policy", async () => {
    const pre = await raw(port, { method: "OPTIONS", path: "/api/files/0/traces/0", headers: { Origin: "http://evil.example", "Access-Control-Request-Method": "PATCH" } });
    expect(pre.status).toBe(401);
    const preAuth = await raw(port, { method: "OPTIONS", path: "/api/files/0/traces/0", headers: { ...auth, Origin: `http://127.0.0.1:${port}`, "Access-Control-Request-Method": "PATCH", "Content-Type": "application/json" } });
    expect(preAuth.status).toBe(405);
    for (const r of [pre, preAuth, await raw(port, { path: "/" }), await raw(port, { path: "/api/files", headers: { ...auth, Origin: "http://evil.example" } })]) {
      expect(Object.keys(r.headers).filter((h) => h.startsWith("access-control-"))).toEqual([]);
      const csp = String(r.headers["content-security-policy"]);
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("connect-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toMatch(/unsafe|\*|https?:/);
      expect(r.headers["x-content-type-options"]).toBe("nosniff");
    }
  });
});

describe("only the files named", () => {
  it("addresses files by id: other ids, paths and traversals are 404", async () => {
    for (const path of [
      "/api/files/2",
      "/api/files/2/traces/0",
      "/api/files/-1/traces/0",
      "/api/files/0x0/traces/0",
      `/api/files/${encodeURIComponent(file)}/traces/0`,
      "/api/files/..%2F..%2Fetc%2Fpasswd/traces/0",
      "/api/files/0/traces/120",
      "/api/files/0/traces/1e2",
      "/api/files/0/origins/3/overview",
      "/api/nothing",
    ]) {
      const r = await raw(port, { path, headers: auth });
      expect(r.status, path).toBe(404);
      expect(r.json().error.code).toBe("ENOTFOUND");
    }
    for (const path of ["/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", `/${file}`, "/src/review/server.ts", "/app.js/../../x", "/index.html"]) {
      expect((await raw(port, { path })).status, path).toBe(404);
    }
    const before = fileSha256(file);
    expect((await raw(port, { method: "PATCH", path: "/api/files/5/traces/0", headers: write, body: '{"values":{"reject":true}}' })).status).toBe(404);
    expect(fileSha256(file)).toBe(before);
  });
});

describe("the API", () => {
  it("gives a trace's typed and stored attributes, shape, samples after its steps, estimate and flags", async () => {
    const t = (await raw(port, { path: "/api/files/0/traces/2", headers: auth })).json();
    expect(t).toMatchObject({ file: 0, index: 2, count: 120, origin: "S07_map_run1.xdf", originIndex: 0, originPosition: 2, originCount: 40, shape: [500, 1], channels: ["EDC_L"], pulseSample: 200, samplingrate: 1000 });
    expect(t.attrs.reject).toBe(false);
    expect(t.text.reject).toBe("False");
    expect(t.samples).toHaveLength(500);
    expect(t.estimate.ptp_uv).toBeGreaterThan(0);
    expect(Array.isArray(t.flags)).toBe(true);
    expect(t.flagsFinal).toBe(true);
    const coil = (await raw(port, { path: `/api/coil?xyz=${t.coords.join(",")}`, headers: auth })).json();
    expect(coil.pixels.map((p: { view: string }) => p.view)).toEqual(["x", "y", "z"]);
    expect((await raw(port, { path: "/api/coil?xyz=1,2", headers: auth })).status).toBe(400);
    const bare = (await raw(port, { path: "/api/files/0/traces/2?samples=none", headers: auth })).json();
    expect(bare.samples).toBeUndefined();
    const bin = await new Promise<Buffer>((resolve) =>
      request({ host: "127.0.0.1", port, path: "/api/files/0/traces/2/samples", headers: auth }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (d: Buffer) => chunks.push(d));
        res.on("end", () => resolve(Buffer.concat(chunks)));
      }).end(),
    );
    expect(bin.length).toBe(500 * 8);
    expect(Array.from(new Float64Array(bin.buffer, bin.byteOffset, 500))).toEqual(t.samples);
  });

  it("a refused value answers 422 with the library's problems, and nothing is written", async () => {
    const before = fileSha256(file);
    const r = await raw(port, { method: "PATCH", path: "/api/files/0/traces/4", headers: write, body: JSON.stringify({ values: { reject: true, onset_shift: 2.5 } }) });
    expect(r.status).toBe(422);
    const e = r.json().error;
    expect(e.code).toBe("EINVALID");
    expect(e.problems.map((p: { message: string }) => p.message)).toEqual(["onset_shift: expected an integer, got 2.5"]);
    const origin = await raw(port, { method: "PATCH", path: "/api/files/0/traces/4", headers: write, body: JSON.stringify({ values: { samplingrate: 5 } }) });
    expect(origin.status).toBe(422);
    const bulk = await raw(port, { method: "PATCH", path: "/api/files/0/traces", headers: write, body: JSON.stringify({ updates: [{ index: 5, values: { reject: true } }, { index: 6, values: { comment: 3 } }] }) });
    expect(bulk.status).toBe(422);
    expect((await raw(port, { method: "PATCH", path: "/api/files/0/traces/4", headers: write, body: "{not json" })).status).toBe(400);
    expect((await raw(port, { method: "PATCH", path: "/api/files/0/traces/4", headers: write, body: '{"values":[1]}' })).status).toBe(400);
    expect(fileSha256(file)).toBe(before);
    expect((await raw(port, { path: "/api/history", headers: auth })).json()).toEqual({ undo: [], redo: [] });
  });

  it("writes through cf.update (200 with what was written, h5py reads it), undo writes the old value back, redo again", async () => {
    const r = await raw(port, { method: "PATCH", path: "/api/files/0/traces/7", headers: write, body: JSON.stringify({ values: { comment: "noisy", reject: true }, label: "test edit" }) });
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ written: ["comment", "reject"], ignored: [], undo: "test edit" });
    expect(h5attrs(file, 7)).toMatchObject({ comment: "noisy", reject: "true" });
    const same = await raw(port, { method: "PATCH", path: "/api/files/0/traces/7", headers: write, body: JSON.stringify({ values: { reject: true } }) });
    expect(same.json()).toMatchObject({ written: [], undo: null });
    const table = (await raw(port, { path: "/api/files/0/table", headers: auth })).json();
    expect(table.reject[7]).toBe(true);
    const undo = await raw(port, { method: "POST", path: "/api/undo", headers: write, body: "{}" });
    expect(undo.status).toBe(200);
    expect(undo.json()).toMatchObject({ undone: "test edit", file: 0, indices: [7] });
    expect(h5attrs(file, 7)).toMatchObject({ comment: "", reject: "false" });
    expect((await raw(port, { method: "POST", path: "/api/redo", headers: write, body: "{}" })).json()).toMatchObject({ redone: "test edit" });
    expect(h5attrs(file, 7)).toMatchObject({ comment: "noisy", reject: "true" });
    await raw(port, { method: "POST", path: "/api/undo", headers: write, body: "{}" });
    const nothing = await raw(port, { method: "POST", path: "/api/undo", headers: write, body: "{}" });
    expect(nothing.status).toBe(409);
    expect(nothing.json().error.code).toBe("EREVIEWNOUNDO");
  });

  it("a bulk edit is one batch: a dry run says what would change and writes nothing, then one undo puts all back", async () => {
    const before = fileSha256(file);
    const updates = [3, 8, 9].map((index) => ({ index, values: { reject: true } }));
    const dry = await raw(port, { method: "PATCH", path: "/api/files/0/traces", headers: write, body: JSON.stringify({ updates, dryRun: true }) });
    expect(dry.json()).toEqual({ dryRun: true, changes: [{ index: 8, key: "reject", from: false, to: true }, { index: 9, key: "reject", from: false, to: true }], unchanged: 1 });
    expect(fileSha256(file)).toBe(before);
    const done = await raw(port, { method: "PATCH", path: "/api/files/0/traces", headers: write, body: JSON.stringify({ updates, label: "bulk" }) });
    expect(done.json().results.map((x: { written: string[] }) => x.written)).toEqual([[], ["reject"], ["reject"]]);
    expect([h5attrs(file, 8).reject, h5attrs(file, 9).reject]).toEqual(["true", "true"]);
    expect((await raw(port, { method: "POST", path: "/api/undo", headers: write, body: "{}" })).json().indices).toEqual([8, 9]);
    expect([h5attrs(file, 8).reject, h5attrs(file, 9).reject]).toEqual(["false", "false"]);
  });

  it("answers 409 while another writer holds the file, writing nothing; the same write succeeds once it lets go", async () => {
    const before = h5attrs(other, 0);
    const holder: ChildProcess = spawn(PYTHON, ["-c", "import h5py, sys\nf = h5py.File(sys.argv[1], 'r+')\nprint('open', flush=True)\nsys.stdin.read()", other], { stdio: ["pipe", "pipe", "inherit"] });
    await new Promise<void>((resolve) => holder.stdout!.once("data", () => resolve()));
    try {
      const r = await raw(port, { method: "PATCH", path: "/api/files/1/traces/0", headers: write, body: JSON.stringify({ values: { reject: true } }) });
      expect(r.status).toBe(409);
      expect(r.json().error).toMatchObject({ code: "EBUSY", retryable: true });
      expect(r.json().error.message).toMatch(/try again/);
    } finally {
      holder.stdin!.end();
      await new Promise((resolve) => holder.on("exit", resolve));
    }
    expect(h5attrs(other, 0)).toEqual(before); // (h5py's own open for writing changes the file's superblock, so its bytes are not compared)
    const again = await raw(port, { method: "PATCH", path: "/api/files/1/traces/0", headers: write, body: JSON.stringify({ values: { reject: true } }) });
    expect(again.status).toBe(200);
    expect(h5attrs(other, 0).reject).toBe("true");
  });

  it("follows a change another program makes, and refuses to undo over it", async () => {
    expect((await raw(port, { method: "PATCH", path: "/api/files/0/traces/11", headers: write, body: JSON.stringify({ values: { comment: "mine" } }) })).status).toBe(200);
    const v0 = (await raw(port, { path: "/api/files/0", headers: auth })).json().version;
    python(`import h5py, sys, json
f = h5py.File(sys.argv[1], "r+")
paths = [f"{o}/traces/{k}" for o in f.keys() for k in sorted(f[o]["traces"].keys(), key=int)]
f[paths[11]].attrs["comment"] = "theirs"
f[paths[12]].attrs["reject"] = "True"
f.close()
print(json.dumps(1))`, [file]);
    const v1 = (await raw(port, { path: "/api/files/0", headers: auth })).json().version;
    expect(v1).toBeGreaterThan(v0);
    expect((await raw(port, { path: "/api/files/0/traces/11?samples=none", headers: auth })).json().attrs.comment).toBe("theirs");
    const table = (await raw(port, { path: "/api/files/0/table", headers: auth })).json();
    expect(table.reject[12]).toBe(true);
    const undo = await raw(port, { method: "POST", path: "/api/undo", headers: write, body: "{}" });
    expect(undo.status).toBe(409);
    expect(undo.json().error.code).toBe("EREVIEWCONFLICT");
    expect(h5attrs(file, 11).comment).toBe("theirs");
  });
});

describe("viewing", () => {
  it("every trace, the table, the overviews, the maps and closing write no byte", async () => {
    const tmp2 = tempDir("ocf-review-view-");
    try {
      const copy = copyFixture("map_session.hdf5", tmp2.dir);
      const erp = copyFixture("erp_multichannel.hdf5", tmp2.dir);
      const bytes = [fileSha256(copy), fileSha256(erp)];
      const times = [statSync(copy).mtimeMs, statSync(erp).mtimeMs];
      const r = await startReview([copy, erp], { port: 0 });
      const h = { Authorization: `Bearer ${r.token}` };
      for (const [id, n, origins] of [[0, 120, 3], [1, 2, 1]] as const) {
        for (let i = 0; i < n; i++) expect((await raw(r.port, { path: `/api/files/${id}/traces/${i}`, headers: h })).status).toBe(200);
        expect((await raw(r.port, { path: `/api/files/${id}/table`, headers: h })).status).toBe(200);
        for (let o = 0; o < origins; o++) expect((await raw(r.port, { path: `/api/files/${id}/origins/${o}/overview`, headers: h })).status).toBe(200);
        expect((await raw(r.port, { path: `/api/files/${id}/map`, headers: h })).status).toBe(200);
        expect((await raw(r.port, { path: `/api/files/${id}/map.png`, headers: h })).status).toBe(200);
      }
      await r.close();
      expect([fileSha256(copy), fileSha256(erp)]).toEqual(bytes);
      expect([statSync(copy).mtimeMs, statSync(erp).mtimeMs]).toEqual(times);
    } finally {
      tmp2.cleanup();
    }
  });
});
