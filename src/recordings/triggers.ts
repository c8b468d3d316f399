/**
 * Events of a trigger (stim) channel as MNE-Python's `find_events` finds
 * them with its defaults (`consecutive="increasing"`, `output="onset"`,
 * `min_duration=0`, `initial_event=False`): the samples where the channel
 * steps up to a higher value, with that value. A non-zero value at sample 0
 * is not an event (MNE's `initial_event=False`) and is reported as such;
 * events less than 2 samples apart (MNE's `shortest_event=2`, where MNE
 * refuses the channel) are reported too. The channel's values are fed one
 * window at a time, so memory grows with the number of steps only.
 * @module
 */

/** Channel names taken as trigger channels when `--stim` names none (compared without case): MNE's (`status`, `trigger`) and other common ones. */
export const TRIGGER_NAMES = ["status", "trigger", "trig", "stim", "sti 014", "sti014", "sti 101", "sti101", "dig dtrig", "dtrig"] as const;

/**
 * Whether a channel's label is one of the usual trigger channel names ({@link TRIGGER_NAMES}).
 * @example
 * ```ts
 * isTriggerName("Status"); // true
 * isTriggerName("EDC_L"); // false
 * ```
 */
export function isTriggerName(label: string): boolean {
  return (TRIGGER_NAMES as readonly string[]).includes(label.trim().toLowerCase());
}

/** One event: the sample where the value stepped up, the value before and the value after. */
export interface TriggerEvent {
  sample: number;
  from: number;
  value: number;
}

/** The events of one trigger channel and what MNE's defaults leave out or refuse. */
export interface TriggerEvents {
  events: TriggerEvent[];
  /** The channel's value at sample 0 when not 0: as MNE's `initial_event=False`, not an event. */
  initialValue: number;
  /** Pairs of consecutive events less than 2 samples apart (MNE's `find_events` refuses the channel then), as the later event's index. */
  short: number[];
  /** Samples decoded. */
  samples: number;
}

/**
 * MNE's `_find_stim_steps` (with `pad_stop=0`) and `_find_events` onset
 * selection, fed in order: `push` each window of integer trigger values
 * (already masked or made non-negative as MNE reads them), then `finish`.
 * @example
 * ```ts
 * const d = new TriggerDecoder();
 * d.push([0, 32, 32, 33, 32, 0]);
 * d.finish().events; // [{ sample: 1, from: 0, value: 32 }, { sample: 3, from: 32, value: 33 }]
 * ```
 */
export class TriggerDecoder {
  #n = 0;
  #prev = 0;
  #initial = 0;
  /** The steps: [sample, before, after]. */
  readonly #steps: [number, number, number][] = [];

  push(values: ArrayLike<number>): void {
    for (let k = 0; k < values.length; k++) {
      const v = values[k]!;
      if (this.#n === 0) this.#initial = v;
      else if (v !== this.#prev) this.#steps.push([this.#n, this.#prev, v]);
      this.#prev = v;
      this.#n++;
    }
  }

  finish(): TriggerEvents {
    const steps = this.#steps;
    const out: TriggerEvents = { events: [], initialValue: this.#initial, short: [], samples: this.#n };
    if (steps.length === 0) return out;
    // pad_stop=0: a channel that ends above 0 steps down after its last sample
    const last = steps[steps.length - 1]!;
    if (last[2] !== 0) steps.push([this.#n, last[2], 0]);
    const onsets: number[] = [];
    let lastOffset = -1;
    steps.forEach(([, from, to], i) => {
      const onset = to > from;
      if (onset) onsets.push(i);
      if ((onset || to === 0) && from > 0) lastOffset = i;
    });
    if (onsets.length === 0 || lastOffset === -1) return out;
    // an onset after the last offset is orphaned (MNE removes it)
    if (onsets[onsets.length - 1]! > lastOffset) onsets.pop();
    out.events = onsets.map((i) => ({ sample: steps[i]![0], from: steps[i]![1], value: steps[i]![2] }));
    for (let i = 1; i < out.events.length; i++) if (out.events[i]!.sample - out.events[i - 1]!.sample < 2) out.short.push(i);
    return out;
  }
}

/**
 * Counts and first samples of each value among the events, in order of first appearance.
 * @example
 * ```ts
 * triggerValues([{ sample: 5, from: 0, value: 1 }, { sample: 9, from: 0, value: 2 }, { sample: 20, from: 0, value: 1 }]);
 * // [{ value: 1, count: 2, first: 5 }, { value: 2, count: 1, first: 9 }]
 * ```
 */
export function triggerValues(events: readonly TriggerEvent[]): { value: number; count: number; first: number }[] {
  const by = new Map<number, { value: number; count: number; first: number }>();
  for (const e of events) {
    const v = by.get(e.value);
    if (v) v.count++;
    else by.set(e.value, { value: e.value, count: 1, first: e.sample });
  }
  return [...by.values()];
}
