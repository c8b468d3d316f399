/**
 * The discrete Fourier transform of any length, as numpy's `numpy.fft`:
 * powers of two by the `fft.js` package (radix-4), every other length by
 * Bluestein's chirp-z algorithm on top of it (three power-of-two transforms
 * of at least 2n - 1 points), so every length is O(n log n). Results stay
 * within about 2e-15 of numpy's, relative to the spectrum's largest
 * magnitude (tested against numpy for lengths 1 to 100,003).
 * @module
 */
import type FFT from "fft.js";
import { lazyModule } from "../base/lazy.js";

/** fft.js, loaded with the first transform. */
const fftLib = lazyModule<typeof FFT>("fft.js");
import { ArgumentRangeError } from "../values/errors.js";

/** A complex series: real and imaginary parts. */
export interface ComplexArray {
  re: Float64Array;
  im: Float64Array;
}

interface Pow2Plan {
  fft: FFT;
  /** Interleaved input and output buffers of fft.js (re, im, re, im, ...). */
  input: Float64Array;
  output: Float64Array;
}

interface BluesteinPlan {
  m: number;
  /** The chirp w[k] = exp(-iπ k²/n). */
  wr: Float64Array;
  wi: Float64Array;
  /** The transform of the conjugate chirp, arranged circularly over m points. */
  br: Float64Array;
  bi: Float64Array;
}

const PLAN_CACHE_LIMIT = 32;
const pow2Plans = new Map<number, Pow2Plan>();
const bluesteinPlans = new Map<number, BluesteinPlan>();

function remember<T>(cache: Map<number, T>, n: number, make: () => T): T {
  let plan = cache.get(n);
  if (!plan) {
    if (cache.size >= PLAN_CACHE_LIMIT) cache.clear();
    cache.set(n, (plan = make()));
  }
  return plan;
}

/** In-place DFT of a power-of-two length by fft.js; `inverse` uses exp(+i...) and does not scale. */
function fftPow2(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  if (n <= 1) return;
  const { fft, input, output } = remember(pow2Plans, n, () => ({ fft: new (fftLib())(n), input: new Float64Array(2 * n), output: new Float64Array(2 * n) }));
  for (let k = 0; k < n; k++) {
    input[2 * k] = re[k]!;
    input[2 * k + 1] = im[k]!;
  }
  if (inverse) fft.inverseTransform(output, input);
  else fft.transform(output, input);
  // fft.js scales its inverse by 1/n; the callers here scale once, at the end.
  const scale = inverse ? n : 1;
  for (let k = 0; k < n; k++) {
    re[k] = output[2 * k]! * scale;
    im[k] = output[2 * k + 1]! * scale;
  }
}

function bluesteinPlan(n: number): BluesteinPlan {
  return remember(bluesteinPlans, n, () => {
    let m = 1;
    while (m < 2 * n - 1) m <<= 1;
    const wr = new Float64Array(n);
    const wi = new Float64Array(n);
    const period = 2 * n;
    // The angle π k²/n taken with k² mod 2n, kept exactly by integer steps
    // ((k + 1)² = k² + 2k + 1), so that it stays accurate for any k.
    for (let k = 0, sq = 0; k < n; sq = (sq + 2 * k + 1) % period, k++) {
      const angle = (Math.PI * sq) / n;
      wr[k] = Math.cos(angle);
      wi[k] = -Math.sin(angle);
    }
    const br = new Float64Array(m);
    const bi = new Float64Array(m);
    br[0] = wr[0]!;
    bi[0] = -wi[0]!;
    for (let k = 1; k < n; k++) {
      br[k] = br[m - k] = wr[k]!;
      bi[k] = bi[m - k] = -wi[k]!;
    }
    fftPow2(br, bi, false);
    return { m, wr, wi, br, bi };
  });
}

/** In-place forward DFT of any length by Bluestein's algorithm. */
function fftBluestein(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  const { m, wr, wi, br, bi } = bluesteinPlan(n);
  const ar = new Float64Array(m);
  const ai = new Float64Array(m);
  for (let k = 0; k < n; k++) {
    ar[k] = re[k]! * wr[k]! - im[k]! * wi[k]!;
    ai[k] = re[k]! * wi[k]! + im[k]! * wr[k]!;
  }
  fftPow2(ar, ai, false);
  for (let k = 0; k < m; k++) {
    const xr = ar[k]!;
    const xi = ai[k]!;
    ar[k] = xr * br[k]! - xi * bi[k]!;
    ai[k] = xr * bi[k]! + xi * br[k]!;
  }
  fftPow2(ar, ai, true);
  for (let k = 0; k < n; k++) {
    const cr = ar[k]! / m;
    const ci = ai[k]! / m;
    re[k] = cr * wr[k]! - ci * wi[k]!;
    im[k] = cr * wi[k]! + ci * wr[k]!;
  }
}

/**
 * In-place DFT of any length; the inverse is scaled by 1/n, as numpy's ifft.
 * @internal
 */
export function transform(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  if (n === 0) return;
  if ((n & (n - 1)) === 0) fftPow2(re, im, inverse);
  else if (!inverse) fftBluestein(re, im);
  else {
    // ifft(x) = conj(fft(conj(x))) / n
    for (let k = 0; k < n; k++) im[k] = -im[k]!;
    fftBluestein(re, im);
    for (let k = 0; k < n; k++) im[k] = -im[k]!;
  }
  if (inverse) {
    for (let k = 0; k < n; k++) {
      re[k] = re[k]! / n;
      im[k] = im[k]! / n;
    }
  }
}

function toComplex(re: ArrayLike<number>, im: ArrayLike<number> | undefined, what: string): ComplexArray {
  if (im !== undefined && im.length !== re.length) {
    throw new ArgumentRangeError(`expected real and imaginary parts of equal length for ${what}, got ${re.length} and ${im.length}`);
  }
  return { re: Float64Array.from(re), im: im === undefined ? new Float64Array(re.length) : Float64Array.from(im) };
}

/**
 * The discrete Fourier transform of a series of any length, as numpy's
 * `numpy.fft.fft` (unscaled, exp(-2πi kn/N)); O(N log N) for every N.
 * Returns new arrays.
 * @example
 * fft([1, 2, 3]) // { re: [6, -1.5, -1.5], im: [0, 0.866..., -0.866...] }
 * @throws {ArgumentRangeError} (a RangeError) the parts differ in length
 */
export function fft(re: ArrayLike<number>, im?: ArrayLike<number>): ComplexArray {
  const x = toComplex(re, im, "fft");
  transform(x.re, x.im, false);
  return x;
}

/**
 * The inverse discrete Fourier transform, scaled by 1/N, as numpy's
 * `numpy.fft.ifft`. Returns new arrays.
 * @example
 * ifft([6, -1.5, -1.5], [0, 0.8660254037844386, -0.8660254037844386]).re // ≈ [1, 2, 3]
 * @throws {ArgumentRangeError} (a RangeError) the parts differ in length
 */
export function ifft(re: ArrayLike<number>, im?: ArrayLike<number>): ComplexArray {
  const x = toComplex(re, im, "ifft");
  transform(x.re, x.im, true);
  return x;
}

/**
 * The frequency of each FFT bin, as numpy's `numpy.fft.fftfreq(n, d)`
 * (same floating-point operations): 0, 1, ..., then the negative
 * frequencies, times `1 / (n * d)`.
 * @example
 * fftfreq(4, 0.25) // [0, 1, -2, -1]
 * @throws {ArgumentRangeError} (a RangeError) n is not a positive integer
 */
export function fftfreq(n: number, d = 1): Float64Array {
  if (!Number.isInteger(n) || n < 1) throw new ArgumentRangeError(`expected a positive integer for n, got ${n}`);
  const val = 1.0 / (n * d);
  const out = new Float64Array(n);
  const positive = Math.floor((n - 1) / 2) + 1;
  for (let k = 0; k < n; k++) out[k] = (k < positive ? k : k - n) * val;
  return out;
}
