/**
 * The review page: one trace at a time with its peaks, the file queue,
 * navigation and filters, edits (each written at once, undoable), the
 * overview (butterfly and scatter with bulk selection), the coil view and
 * the map of the current state. Performance marks (`first-trace`,
 * `next-trace`, `overview`, `map-refresh`) measure what the benchmark
 * reports.
 * @module
 */
import { ApiError, blob, get, initToken, patch, post } from "./api.js";
import { Butterfly } from "./butterfly.js";
import { fmt, h } from "./dom.js";
import { KEYS } from "./keys.js";
import { GlassPanel } from "./mappanel.js";
import { Scatter, type ScatterPoint } from "./scatter.js";
import { channelOf, TracePlot, timesOf, type PeakPick } from "./traceplot.js";
import type { FileSummary, FlagName, MapMeta, MapPoints, Overview, Pixel, Table, TraceView } from "./types.js";

type Filter = "all" | "flagged" | FlagName;
type Values = Record<string, unknown>;

const FLAG_TEXT: Record<FlagName, string> = {
  background: "background EMG",
  outlier: "amplitude outlier",
  nocoords: "no coordinates",
  uninspected: "never inspected",
};
const STEP_KEYS: Record<string, string> = { B: "baseline", D: "detrend", L: "linenoise", F: "flipsign" };

/** A write that can be sent again (after a 409 while another program held the file). */
interface PendingWrite {
  run: () => Promise<void>;
  what: string;
  /** Whether it may change samples (the overview is then read again). */
  samples: boolean;
}

class App {
  files: FileSummary[] = [];
  file = 0;
  index = 0;
  view: TraceView | undefined;
  table: Table | undefined;
  filter: Filter = "all";
  allChannels = false;
  cache = new Map<string, Promise<TraceView>>();
  coils = new Map<string, Promise<Pixel[]>>();
  /** The coil position marked now, in the glass brain's pixels. */
  coilShown: Pixel[] = [];
  overviewOrigin = -1;
  overviewVersion = -1;
  mapVersion = -1;
  mapRequests = 0;
  mapUrl: string | undefined;
  scatterX: "onset" | "negLat" | "rms" = "onset";
  selection: number[] = [];
  site: number[] = [];
  pending: PendingWrite | undefined;
  navSeq = 0;
  firstDrawn = false;
  /** Set when an edit was made, until the map shows it (the map-refresh mark). */
  mapWanted: number | undefined;

  // Elements.
  readonly el = {
    queue: h("select", { id: "queue", "aria-label": "file" }),
    position: h("span", { id: "position" }),
    jump: h("input", { id: "jump", type: "number", min: "1", title: "trace number (g)", "aria-label": "jump to trace" }) as HTMLInputElement,
    filter: h("select", { id: "filter", "aria-label": "filter" }),
    banner: h("div", { id: "banner", role: "status", hidden: true }),
    flags: h("span", { id: "flags" }),
    plot: h("div", { id: "plot" }),
    channel: h("select", { id: "channel", "aria-label": "channel" }),
    peaks: h("table", { id: "peaks" }),
    reject: h("button", { id: "reject", type: "button", title: "r" }),
    comment: h("input", { id: "comment", type: "text", placeholder: "comment (c)" }) as HTMLInputElement,
    shift: h("input", { id: "shift", type: "number", step: "1", title: "onset_shift (- / +)" }) as HTMLInputElement,
    steps: h("span", { id: "steps" }),
    global: h("div", { id: "global" }),
    history: h("div", { id: "history" }),
    coilNote: h("div", { id: "coilnote" }),
    mapNote: h("div", { id: "mapnote" }),
    siteList: h("div", { id: "site" }),
    butterfly: h("canvas", { id: "butterfly" }) as HTMLCanvasElement,
    scatter: h("canvas", { id: "scatter" }) as HTMLCanvasElement,
    scatterX: h("select", { id: "scatterx", "aria-label": "scatter x axis" }),
    selection: h("div", { id: "selection" }),
    help: h("div", { id: "help", hidden: true, role: "dialog" }),
    status: h("div", { id: "status" }),
  };
  plot: TracePlot;
  coil = new GlassPanel("coil position");
  map: GlassPanel;
  butterfly: Butterfly;
  scatter: Scatter;

  constructor() {
    this.plot = new TracePlot(this.el.plot, (p) => void this.pick(p));
    this.map = new GlassPanel("map of the current state", (indices) => this.showSite(indices));
    this.butterfly = new Butterfly(this.el.butterfly, (i) => void this.go(i));
    this.scatter = new Scatter(this.el.scatter, (indices) => void this.select(indices), (i) => void this.go(i));
    this.layout();
  }

  layout(): void {
    const e = this.el;
    for (const f of ["all", "flagged", "background", "outlier", "nocoords", "uninspected"] as Filter[]) {
      e.filter.append(h("option", { value: f, text: f === "all" ? "all traces" : f === "flagged" ? "flagged (any)" : FLAG_TEXT[f as FlagName] }));
    }
    for (const [v, t] of [["onset", "onset latency (ms)"], ["negLat", "negative peak latency (ms)"], ["rms", "background RMS (µV)"]]) e.scatterX.append(h("option", { value: v!, text: t! }));
    e.queue.addEventListener("change", () => void this.openFile(Number(e.queue.value)));
    e.filter.addEventListener("change", () => {
      this.filter = e.filter.value as Filter;
      void this.go(this.nextIn(this.index, 0));
    });
    e.channel.addEventListener("change", () => this.draw());
    e.jump.addEventListener("change", () => {
      const n = Number(e.jump.value);
      if (Number.isInteger(n) && n >= 1) void this.go(n - 1);
      e.jump.blur();
    });
    e.comment.addEventListener("change", () => void this.edit({ comment: e.comment.value }, `comment of trace ${this.index}`));
    e.comment.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" || ev.key === "Escape") e.comment.blur();
    });
    e.shift.addEventListener("change", () => {
      const n = Number(e.shift.value);
      if (Number.isInteger(n)) void this.edit({ onset_shift: n }, `onset_shift of trace ${this.index}`);
    });
    e.reject.addEventListener("click", () => void this.toggleReject());
    e.scatterX.addEventListener("change", () => {
      this.scatterX = e.scatterX.value as App["scatterX"];
      this.drawScatter();
    });
    const button = (text: string, title: string, fn: () => void, id?: string) => h("button", { type: "button", title, text, click: fn, ...(id ? { id } : {}) });
    const nav = h(
      "nav",
      { class: "bar" },
      h("strong", { text: "cachefile review" }),
      e.queue,
      button("◀◀", "10 back (PageUp)", () => void this.step(-10)),
      button("◀", "previous (← or k)", () => void this.step(-1), "prev"),
      e.position,
      button("▶", "next (→ or j)", () => void this.step(1), "next"),
      button("▶▶", "10 on (PageDown)", () => void this.step(10)),
      h("label", {}, "go to ", e.jump),
      h("label", {}, "show ", e.filter),
      button("next flagged", "n", () => void this.nextFlagged(1)),
      button("undo", "Ctrl+Z", () => void this.undo(), "undo"),
      button("redo", "Ctrl+Shift+Z", () => void this.redo(), "redo"),
      button("?", "help (?)", () => this.toggleHelp()),
    );
    const tools = h(
      "div",
      { class: "bar" },
      h("label", {}, "channel ", e.channel),
      button("all channels", "a", () => this.toggleChannels()),
      button("whole trace", "w", () => this.toggleWhole()),
      e.flags,
    );
    const actions = h(
      "div",
      { class: "actions" },
      e.reject,
      button("accept estimate", "e", () => void this.acceptEstimate(), "accept"),
      button("MEP negative", "m", () => void this.mepNegative(), "negative"),
      button("amplitude from latency", "l", () => void this.amplitudeFromLatency(), "fromlatency"),
      h("label", {}, "onset_shift ", e.shift),
      e.comment,
    );
    const steps = h(
      "div",
      { class: "actions" },
      h("span", { text: "preprocess:" }),
      ...Object.entries(STEP_KEYS).map(([k, s]) => button(s, `${k} (appended to _log)`, () => void this.addStep(s), `step-${s}`)),
      e.steps,
    );
    e.help.append(
      h("h2", { text: "Keys" }),
      h("table", {}, ...KEYS.map(([k, t]) => h("tr", {}, h("th", { text: k }), h("td", { text: t })))),
      h("p", { text: "Every edit is written at once; undo writes the old value back. Viewing writes nothing." }),
    );
    e.help.addEventListener("click", () => this.toggleHelp());
    const app = document.getElementById("app")!;
    app.append(
      nav,
      e.banner,
      e.status,
      h(
        "main",
        {},
        h("section", { id: "traceview" }, tools, e.plot, h("div", { class: "row" }, e.peaks, h("div", { class: "col" }, actions, steps, e.global, e.history))),
        h(
          "aside",
          {},
          h("h3", { text: "Coil" }),
          this.coil.root,
          e.coilNote,
          h("h3", { text: "Map (current state)" }),
          this.map.root,
          e.mapNote,
          e.siteList,
        ),
        h(
          "section",
          { id: "overview" },
          h("h3", { text: "Origin overview" }),
          e.butterfly,
          h("div", { class: "bar" }, h("span", { text: "peak-to-peak against " }), e.scatterX, h("span", { class: "hint", text: "drag: box, Shift+drag: lasso" })),
          e.scatter,
          e.selection,
        ),
      ),
      e.help,
    );
    document.addEventListener("keydown", (ev) => this.key(ev));
  }

  // ------------------------------------------------------------ data

  async start(): Promise<void> {
    initToken();
    // The first trace is asked for together with the list of files.
    void this.fetchTrace(0).catch(() => undefined);
    const { files } = await get<{ files: FileSummary[] }>("/api/files");
    this.files = files;
    this.renderQueue();
    await this.openFile(0);
    void this.loadGlass();
    setInterval(() => void this.poll(), 1500);
  }

  async loadGlass(): Promise<void> {
    const glass = await get<{ width: number; height: number }>("/api/glass").catch(() => undefined);
    if (glass) await this.coil.load("/api/glass.png", glass.width, glass.height).catch((e: unknown) => this.error(e));
    this.drawCoil();
  }

  async openFile(id: number): Promise<void> {
    this.file = id;
    this.el.queue.value = String(id);
    this.cache.clear();
    this.table = undefined;
    this.overviewOrigin = -1;
    this.mapVersion = -1;
    this.selection = [];
    this.site = [];
    await this.go(0);
    void this.refreshAll();
  }

  /** The trace (cached; the next ones are fetched ahead). */
  fetchTrace(index: number): Promise<TraceView> {
    const key = `${this.file}:${index}`;
    let p = this.cache.get(key);
    if (!p) {
      p = get<TraceView>(`/api/files/${this.file}/traces/${index}`);
      this.cache.set(key, p);
      p.catch(() => this.cache.delete(key));
      if (this.cache.size > 64) this.cache.delete(this.cache.keys().next().value!);
    }
    return p;
  }

  get count(): number {
    return this.files[this.file]?.traces ?? 0;
  }

  async go(index: number): Promise<void> {
    if (this.count === 0) return;
    const i = Math.max(0, Math.min(this.count - 1, index));
    const seq = ++this.navSeq;
    this.index = i;
    let view: TraceView;
    try {
      view = await this.fetchTrace(i);
    } catch (e) {
      this.error(e);
      return;
    }
    if (seq !== this.navSeq) return;
    this.view = view;
    this.render();
    performance.mark(`drawn-${seq}`);
    if (!this.firstDrawn) {
      this.firstDrawn = true;
      performance.measure("first-trace", { start: 0, end: `drawn-${seq}` });
    } else if (performance.getEntriesByName(`key-${seq}`).length > 0) {
      performance.measure("next-trace", `key-${seq}`, `drawn-${seq}`);
    }
    for (const d of [1, 2, -1]) if (i + d >= 0 && i + d < this.count) void this.fetchTrace(i + d).catch(() => undefined);
    if (this.table && view.originIndex !== this.overviewOrigin) void this.loadOverview();
    else {
      this.butterfly.current = i;
      this.drawScatter();
    }
  }

  /** Traces the filter shows. */
  matches(i: number): boolean {
    if (this.filter === "all" || !this.table) return true;
    const f = this.table.flags[i] ?? [];
    return this.filter === "flagged" ? f.length > 0 : f.includes(this.filter);
  }

  /** The `k`-th trace from `from` that the filter shows (k = 0: `from` itself if it does, else the next). */
  nextIn(from: number, k: number): number {
    if (this.filter === "all" || !this.table) return from + k;
    const dir = k < 0 ? -1 : 1;
    let left = Math.abs(k);
    let i = from;
    if (k === 0) {
      while (i < this.count && !this.matches(i)) i++;
      return i < this.count ? i : from;
    }
    while (left > 0) {
      i += dir;
      if (i < 0 || i >= this.count) return from;
      if (this.matches(i)) {
        from = i;
        left--;
      }
    }
    return from;
  }

  step(k: number): Promise<void> {
    performance.mark(`key-${this.navSeq + 1}`);
    return this.go(this.nextIn(this.index, k));
  }

  async nextFlagged(dir: 1 | -1): Promise<void> {
    if (!this.table) return this.note("the flags are being computed: a moment");
    for (let i = this.index + dir; i >= 0 && i < this.count; i += dir) {
      if ((this.table.flags[i] ?? []).length > 0) return this.go(i);
    }
    this.note("no further flagged trace");
  }

  async refreshAll(): Promise<void> {
    await this.loadTable();
    await Promise.all([this.loadOverview(), this.loadMap(), this.loadPoints()]);
  }

  /** Where each trace is on the map (for a click on a site): read when the file is opened or another program changed it. */
  async loadPoints(): Promise<void> {
    try {
      this.map.points = (await get<MapPoints>(`/api/files/${this.file}/points`)).points;
    } catch (e) {
      this.error(e);
    }
  }

  async loadTable(): Promise<void> {
    try {
      this.table = await get<Table>(`/api/files/${this.file}/table`);
    } catch (e) {
      this.error(e);
      return;
    }
    this.renderFlags();
    this.drawScatter();
  }

  async loadOverview(): Promise<void> {
    const view = this.view;
    if (!view) return;
    const t0 = performance.now();
    const o = view.originIndex;
    const [from, to] = this.plot.whole ? [timesOf(view)[0] ?? -100, timesOf(view).at(-1) ?? 200] : [-100, 200];
    let data: Overview;
    try {
      data = await get<Overview>(`/api/files/${this.file}/origins/${o}/overview?from=${Math.round(from)}&to=${Math.round(to)}`);
    } catch (e) {
      this.error(e);
      return;
    }
    this.overviewOrigin = o;
    this.overviewVersion = this.files[this.file]?.version ?? 0;
    this.butterfly.show(data, this.index);
    this.drawScatter();
    performance.measure("overview", { start: t0, end: performance.now() });
  }

  async loadMap(): Promise<void> {
    // The picture and what is known of it, asked for at once (the server draws each version once).
    const version = this.files[this.file]?.version ?? 0;
    const src = `/api/files/${this.file}/map.png?v=${version}-${++this.mapRequests}`;
    const picture = blob(src);
    picture.catch(() => undefined);
    let meta: MapMeta;
    try {
      meta = await get<MapMeta>(`/api/files/${this.file}/map`);
    } catch (e) {
      this.error(e);
      return;
    }
    if (meta.version === this.mapVersion) return;
    this.mapVersion = meta.version;
    try {
      const url = URL.createObjectURL(await picture);
      await this.map.load(url, meta.width, meta.height);
      if (this.mapUrl) URL.revokeObjectURL(this.mapUrl);
      this.mapUrl = url;
    } catch (e) {
      this.error(e);
    }
    this.el.mapNote.textContent = meta.empty ?? meta.summary.replace(/\n\s*/g, " · ");
    this.drawCoil();
    if (this.mapWanted !== undefined) {
      performance.measure("map-refresh", { start: this.mapWanted, end: performance.now() });
      this.mapWanted = undefined;
    }
  }

  /** Follows changes: the review's own, and another program's (the file's version grows). */
  async poll(): Promise<void> {
    let files: FileSummary[];
    try {
      files = (await get<{ files: FileSummary[] }>("/api/files")).files;
    } catch {
      return;
    }
    const before = this.files[this.file]?.version;
    this.files = files;
    this.renderQueue();
    const now = files[this.file]?.version;
    if (now !== before || (this.table === undefined && files[this.file]?.progress === 1)) await this.changed(true);
  }

  /**
   * The file changed: the trace, the map and the table are read again; the
   * overview too when samples may have changed (another program's change,
   * `_log` or `onset_shift`), otherwise only its rejects follow the table.
   */
  async changed(samples: boolean): Promise<void> {
    this.cache.clear();
    // The trace and the map first; the table (10,000 rows of a large file) after them.
    await Promise.all([this.go(this.index), this.loadMap()]);
    await this.loadTable();
    if (samples) {
      this.overviewOrigin = -1;
      await Promise.all([this.loadOverview(), this.loadPoints()]);
    } else if (this.table) {
      const reject = this.table.reject;
      this.butterfly.rejects((i) => reject[i] === true);
    }
  }

  // ------------------------------------------------------------ edits

  async write(run: () => Promise<void>, what: string, samples = true): Promise<void> {
    this.pending = undefined;
    this.hideBanner();
    try {
      await run();
    } catch (e) {
      if (e instanceof ApiError && e.retryable) {
        this.pending = { run, what, samples };
        this.banner(`${what}: ${e.message}`, true);
      } else this.error(e);
      return;
    }
    const summary = get<{ files: FileSummary[] }>("/api/files").then(
      (s) => {
        this.files = s.files;
        this.renderQueue();
      },
      () => undefined,
    );
    await Promise.all([summary, this.changed(samples)]);
  }

  /** Writes `values` to the current trace. */
  edit(values: Values, label: string, index = this.index): Promise<void> {
    this.mapWanted = performance.now();
    return this.write(
      async () => {
        await patch(`/api/files/${this.file}/traces/${index}`, { values, label });
      },
      label,
      "_log" in values || "onset_shift" in values,
    );
  }

  toggleReject(): Promise<void> {
    const v = this.view;
    if (!v) return Promise.resolve();
    const reject = v.attrs["reject"] !== true;
    return this.edit({ reject }, `${reject ? "reject" : "accept"} trace ${v.index}`);
  }

  acceptEstimate(): Promise<void> {
    const v = this.view;
    const e = v?.estimate;
    if (!v || !e) return Promise.resolve(this.note(v?.estimateError ?? "no estimate for this trace"));
    const values: Values = {
      neg_peak_magnitude_uv: e.neg_peak_magnitude_uv,
      neg_peak_latency_ms: e.neg_peak_latency_ms,
      pos_peak_magnitude_uv: e.pos_peak_magnitude_uv,
      pos_peak_latency_ms: e.pos_peak_latency_ms,
    };
    if ("zcr_latency_ms" in v.attrs) values["zcr_latency_ms"] = e.zcr_latency_ms;
    return this.edit(values, `accept the estimate of trace ${v.index}`);
  }

  mepNegative(): Promise<void> {
    const v = this.view;
    if (!v) return Promise.resolve();
    return this.edit({ neg_peak_magnitude_uv: 0, neg_peak_latency_ms: 0, pos_peak_magnitude_uv: 0, pos_peak_latency_ms: 0 }, `MEP negative: trace ${v.index}`);
  }

  amplitudeFromLatency(): Promise<void> {
    const v = this.view;
    if (!v || v.pulseSample === null || !v.samplingrate) return Promise.resolve();
    const y = channelOf(v, v.channelOfInterest);
    const values: Values = {};
    for (const which of ["neg", "pos"] as const) {
      const lat = v.attrs[`${which}_peak_latency_ms`];
      if (typeof lat !== "number") continue;
      const n = v.pulseSample + Math.round((lat * v.samplingrate) / 1000);
      const value = y[n];
      if (value !== null && value !== undefined) values[`${which}_peak_magnitude_uv`] = value;
    }
    if (Object.keys(values).length === 0) return Promise.resolve(this.note("no stored latency to read an amplitude at"));
    return this.edit(values, `amplitude from latency: trace ${v.index}`);
  }

  pick(p: PeakPick): Promise<void> {
    return this.edit({ [`${p.which}_peak_latency_ms`]: p.latency, [`${p.which}_peak_magnitude_uv`]: p.magnitude }, `set the ${p.which === "neg" ? "negative" : "positive"} peak of trace ${this.index}`);
  }

  addStep(step: string): Promise<void> {
    const v = this.view;
    if (!v) return Promise.resolve();
    const d = new Date();
    const pad = (n: number) => String(n).padStart(2, "0");
    const stamp = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    const log = Array.isArray(v.attrs["_log"]) ? (v.attrs["_log"] as string[]) : [];
    return this.edit({ _log: [...log, `${step} on ${stamp}`] }, `${step} on trace ${v.index}`);
  }

  shiftOnset(d: number): Promise<void> {
    const v = this.view;
    const s = typeof v?.attrs["onset_shift"] === "number" ? (v.attrs["onset_shift"] as number) : 0;
    return this.edit({ onset_shift: s + d }, `onset_shift of trace ${this.index}`);
  }

  async undo(): Promise<void> {
    this.mapWanted = performance.now();
    await this.write(async () => {
      const r = await post<{ undone: string; file: number; indices: number[] }>("/api/undo", {});
      this.note(`undone: ${r.undone}`);
      if (r.file !== this.file) await this.openFile(r.file);
    }, "undo");
  }

  async redo(): Promise<void> {
    this.mapWanted = performance.now();
    await this.write(async () => {
      const r = await post<{ redone: string; file: number }>("/api/redo", {});
      this.note(`redone: ${r.redone}`);
      if (r.file !== this.file) await this.openFile(r.file);
    }, "redo");
  }

  /** A scatter selection: what a reject or accept of it would change, then the write on a click. */
  async select(indices: number[]): Promise<void> {
    this.selection = indices;
    const e = this.el.selection;
    e.replaceChildren();
    if (indices.length === 0) return;
    const offer = (reject: boolean) => async () => {
      const updates = indices.map((index) => ({ index, values: { reject } }));
      let plan: { changes: { index: number }[]; unchanged: number };
      try {
        plan = await patch(`/api/files/${this.file}/traces`, { updates, dryRun: true });
      } catch (err) {
        return this.error(err);
      }
      const changing = plan.changes.map((c) => c.index);
      e.replaceChildren(
        h("p", { id: "plan", text: `${reject ? "Reject" : "Accept"} ${changing.length} trace(s)${changing.length ? `: ${changing.slice(0, 30).join(", ")}${changing.length > 30 ? ", ..." : ""}` : ""}; ${plan.unchanged} already ${reject ? "rejected" : "accepted"}, unchanged.` }),
        h("button", {
          type: "button",
          id: "confirm",
          text: `write (${changing.length})`,
          disabled: changing.length === 0,
          click: () => {
            this.mapWanted = performance.now();
            void this.write(async () => {
              await patch(`/api/files/${this.file}/traces`, { updates: changing.map((index) => ({ index, values: { reject } })), label: `${reject ? "reject" : "accept"} ${changing.length} traces (selection)` });
              this.clearSelection();
            }, "bulk edit", false);
          },
        }),
        h("button", { type: "button", text: "cancel", click: () => this.clearSelection() }),
      );
    };
    e.append(
      h("p", { text: `${indices.length} trace(s) selected` }),
      h("button", { type: "button", id: "bulk-reject", text: "reject…", click: offer(true) }),
      h("button", { type: "button", id: "bulk-accept", text: "accept…", click: offer(false) }),
      h("button", { type: "button", text: "clear", click: () => this.clearSelection() }),
    );
  }

  clearSelection(): void {
    this.selection = [];
    this.el.selection.replaceChildren();
    this.scatter.clearSelection();
  }

  showSite(indices: number[]): void {
    this.site = indices;
    const e = this.el.siteList;
    e.replaceChildren();
    if (indices.length === 0) return;
    e.append(
      h("span", { text: `site: ${indices.length} trace(s) ` }),
      ...indices.slice(0, 40).map((i) => h("button", { type: "button", class: "link", text: String(i + 1), click: () => void this.go(i) })),
    );
    if (indices.length > 1) e.append(h("button", { type: "button", id: "site-next", text: "next at site", click: () => void this.go(indices.find((i) => i > this.index) ?? indices[0]!) }));
    void this.go(indices.includes(this.index) ? this.index : indices[0]!);
  }

  // ------------------------------------------------------------ drawing

  renderQueue(): void {
    const q = this.el.queue;
    const value = String(this.file);
    q.replaceChildren(
      ...this.files.map((f) => {
        const s = f.status;
        const counts = s ? `${s.uninspected} uninspected · ${s.rejected} rejected · ${s.annotated} annotated` : `reading ${Math.round(f.progress * 100)}%`;
        return h("option", { value: String(f.id), text: `${f.name}: ${counts}` });
      }),
    );
    q.value = value;
  }

  channels(): number[] {
    const v = this.view!;
    if (this.allChannels) return v.channels.map((_, c) => c);
    const c = Number(this.el.channel.value);
    return [Number.isInteger(c) && c >= 0 && c < v.channels.length ? c : v.channelOfInterest];
  }

  render(): void {
    const v = this.view!;
    const e = this.el;
    const ch = e.channel;
    if (ch.dataset["file"] !== `${v.file}` || ch.options.length !== v.channels.length) {
      ch.replaceChildren(...v.channels.map((name, c) => h("option", { value: String(c), text: c === v.channelOfInterest ? `${name} (of interest)` : name })));
      ch.value = String(v.channelOfInterest);
      ch.dataset["file"] = `${v.file}`;
    }
    e.position.textContent = `trace ${v.index + 1} of ${v.count} (origin ${v.origin}, ${v.originPosition + 1} of ${v.originCount})`;
    e.jump.value = String(v.index + 1);
    this.draw();
    this.renderFlags();
    const rejected = v.attrs["reject"] === true;
    e.reject.textContent = rejected ? "rejected: accept (r)" : "reject (r)";
    e.reject.className = rejected ? "rejected" : "";
    document.body.classList.toggle("is-rejected", rejected);
    if (document.activeElement !== e.comment) e.comment.value = typeof v.attrs["comment"] === "string" ? (v.attrs["comment"] as string) : "";
    if (document.activeElement !== e.shift) e.shift.value = String(v.attrs["onset_shift"] ?? 0);
    e.steps.textContent = v.stepError ? `_log cannot be replayed: ${v.stepError}` : v.steps.length ? `_log: ${v.steps.join(" → ")}` : "_log: none";
    e.global.textContent = v.globalComment ? `origin's global_comment: ${v.globalComment}` : "";
    const a = v.attrs;
    const est = v.estimate;
    const row = (name: string, stored: unknown, estimated: unknown, digits = 1) => h("tr", {}, h("th", { text: name }), h("td", { text: fmt(stored, digits) }), h("td", { text: fmt(estimated, digits) }));
    const ptp = typeof a["pos_peak_magnitude_uv"] === "number" && typeof a["neg_peak_magnitude_uv"] === "number" ? (a["pos_peak_magnitude_uv"] as number) - (a["neg_peak_magnitude_uv"] as number) : null;
    e.peaks.replaceChildren(
      h("tr", {}, h("th", {}), h("th", { text: "stored" }), h("th", { text: "estimate" })),
      row("negative peak µV", a["neg_peak_magnitude_uv"], est?.neg_peak_magnitude_uv),
      row("negative peak ms", a["neg_peak_latency_ms"], est?.neg_peak_latency_ms),
      row("positive peak µV", a["pos_peak_magnitude_uv"], est?.pos_peak_magnitude_uv),
      row("positive peak ms", a["pos_peak_latency_ms"], est?.pos_peak_latency_ms),
      row("peak to peak µV", ptp, est?.ptp_uv),
      row("zero crossing ms", a["zcr_latency_ms"], est?.zcr_latency_ms),
      row("onset ms", null, est?.onset_latency_ms),
      row("background RMS µV", null, est?.prestim_rms_uv),
    );
    this.drawCoil();
    void this.renderHistory();
  }

  draw(): void {
    if (this.view) this.plot.show(this.view, this.channels());
  }

  renderFlags(): void {
    const v = this.view;
    if (!v) return;
    const flags = this.table?.flags[v.index] ?? v.flags;
    this.el.flags.replaceChildren(...flags.map((f) => h("span", { class: `badge ${f}`, text: FLAG_TEXT[f] })));
  }

  /** The pixels of coordinates in the glass brain's views (asked once per coordinates). */
  coilPixels(xyz: [number, number, number]): Promise<Pixel[]> {
    const key = xyz.join(",");
    let p = this.coils.get(key);
    if (!p) {
      p = get<{ pixels: Pixel[] }>(`/api/coil?xyz=${key}`).then((r) => r.pixels);
      this.coils.set(key, p);
      p.catch(() => this.coils.delete(key));
    }
    return p;
  }

  drawCoil(): void {
    const v = this.view;
    if (!v) return;
    const mark = (pixels: Pixel[]) => {
      if (this.view !== v) return;
      this.coilShown = pixels;
      this.coil.mark(pixels);
      this.map.mark(pixels);
    };
    if (v.coords) this.coilPixels(v.coords).then(mark, (e: unknown) => this.error(e));
    else mark([]);
    this.el.coilNote.textContent = v.coords ? `xyz_coords (${v.coords.map((c) => c.toFixed(1)).join(", ")}) mm` : "warning: this trace has no coordinates (xyz_coords), so it is not on the map";
    this.el.coilNote.className = v.coords ? "" : "warn";
  }

  drawScatter(): void {
    const t = this.table;
    const v = this.view;
    if (!t || !t.ready || !v) return;
    const o = v.originIndex;
    const xs = this.scatterX === "onset" ? t.onset : this.scatterX === "negLat" ? t.negLat : t.rms;
    const points: ScatterPoint[] = [];
    const start = t.originStart[o] ?? 0;
    for (let i = start; i < start + (t.originCounts[o] ?? 0); i++) {
      const x = xs[i];
      const y = t.ptp[i];
      if (typeof x === "number" && typeof y === "number") points.push({ index: i, x, y, reject: t.reject[i] === true });
    }
    const label = this.el.scatterX.selectedOptions[0]?.textContent ?? "";
    this.scatter.show(points, { x: label, y: "peak to peak (µV)" }, this.index);
  }

  async renderHistory(): Promise<void> {
    const h0 = await get<{ undo: string[]; redo: string[] }>("/api/history").catch(() => undefined);
    if (!h0) return;
    this.el.history.textContent = h0.undo.length ? `last edit: ${h0.undo[0]} (${h0.undo.length} to undo, ${h0.redo.length} to redo)` : "no edits yet";
  }

  toggleHelp(): void {
    this.el.help.hidden = !this.el.help.hidden;
  }

  toggleChannels(): void {
    this.allChannels = !this.allChannels;
    this.draw();
  }

  toggleWhole(): void {
    this.plot.whole = !this.plot.whole;
    this.draw();
    this.overviewOrigin = -1;
    void this.loadOverview();
  }

  // ------------------------------------------------------------ messages

  banner(text: string, retry: boolean): void {
    const b = this.el.banner;
    b.hidden = false;
    b.className = retry ? "busy" : "error";
    b.replaceChildren(h("span", { text }));
    if (retry) b.append(h("button", { type: "button", id: "retry", text: "retry", click: () => this.pending && void this.write(this.pending.run, this.pending.what, this.pending.samples) }));
    b.append(h("button", { type: "button", text: "×", title: "dismiss", click: () => this.hideBanner() }));
  }

  hideBanner(): void {
    this.el.banner.hidden = true;
  }

  error(e: unknown): void {
    if (e instanceof ApiError) {
      const detail = e.problems.length ? e.problems.map((p) => p.message).join("; ") : e.message;
      this.banner(`${e.code}: ${detail}`, e.retryable);
    } else this.banner(e instanceof Error ? e.message : String(e), false);
  }

  note(text: string): void {
    this.el.status.textContent = text;
  }

  // ------------------------------------------------------------ keys

  key(ev: KeyboardEvent): void {
    const target = ev.target as HTMLElement | null;
    if (target && (target.tagName === "INPUT" || target.tagName === "SELECT" || target.tagName === "TEXTAREA")) return;
    const k = ev.key;
    const ctrl = ev.ctrlKey || ev.metaKey;
    let handled = true;
    if (ctrl && (k === "z" || k === "Z")) void (ev.shiftKey ? this.redo() : this.undo());
    else if (ctrl && (k === "y" || k === "Y")) void this.redo();
    else if (ctrl || ev.altKey) handled = false;
    else if (k === "ArrowRight" || k === "j") void this.step(ev.shiftKey ? 10 : 1);
    else if (k === "ArrowLeft" || k === "k") void this.step(ev.shiftKey ? -10 : -1);
    else if (k === "PageDown") void this.step(10);
    else if (k === "PageUp") void this.step(-10);
    else if (k === "Home") void this.go(this.nextIn(0, 0));
    else if (k === "End") void this.go(this.count - 1);
    else if (k === "g") {
      this.el.jump.focus();
      this.el.jump.select();
    } else if (k === "n") void this.nextFlagged(1);
    else if (k === "N") void this.nextFlagged(-1);
    else if (k === "r") void this.toggleReject();
    else if (k === "e") void this.acceptEstimate();
    else if (k === "m") void this.mepNegative();
    else if (k === "l") void this.amplitudeFromLatency();
    else if (k === "-") void this.shiftOnset(-1);
    else if (k === "+" || k === "=") void this.shiftOnset(1);
    else if (k === "c") {
      this.el.comment.focus();
    } else if (STEP_KEYS[k]) void this.addStep(STEP_KEYS[k]!);
    else if (k === "w") this.toggleWhole();
    else if (k === "a") this.toggleChannels();
    else if (k === "<") void this.openFile(Math.max(0, this.file - 1));
    else if (k === ">") void this.openFile(Math.min(this.files.length - 1, this.file + 1));
    else if (k === "?") this.toggleHelp();
    else if (k === "Escape") {
      this.el.help.hidden = true;
      this.clearSelection();
    } else handled = false;
    if (handled) ev.preventDefault();
  }
}

const app = new App();
(window as unknown as { review: App }).review = app;
app.start().catch((e: unknown) => app.error(e));
