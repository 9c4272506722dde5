/**
 * Seeded pseudo-random numbers for splits, shuffles and augmentation.
 *
 * xoshiro128** (Blackman & Vigna) on 32-bit integers, seeded through splitmix32 so that nearby
 * seeds give unrelated streams. Not cryptographic; chosen because it is small, fast in JS integer
 * arithmetic and its output is the same on every platform, which makes splits reproducible.
 */
/** The seed tree's 32-bit mixes live with every other seed derivation, in core/seeds.ts. */
export { deriveSeed, fmix32 } from "../core/seeds.js";

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** `seed` is any finite number; it is reduced to 32 bits. */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new TypeError(`Rng: expected a finite seed, got ${seed}`);
    let x = seed >>> 0;
    // splitmix32 fills the state; it never yields four zero words.
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** A generator with the given raw xoshiro128 state (not all zero), e.g. to check it against the reference code. */
  static fromState(s0: number, s1: number, s2: number, s3: number): Rng {
    if ((s0 | s1 | s2 | s3) === 0) throw new RangeError("Rng.fromState: the state must not be all zero");
    const rng = new Rng(0);
    rng.s0 = s0 | 0;
    rng.s1 = s1 | 0;
    rng.s2 = s2 | 0;
    rng.s3 = s3 | 0;
    return rng;
  }

  /** A uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A uniform float in [0, 1) with 32 random bits. */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** A uniform integer in [0, n), without modulo bias; `n` is a positive integer up to 2^32. */
  int(n: number): number {
    if (!(n > 0 && n <= 4294967296) || !Number.isInteger(n)) {
      throw new RangeError(`Rng.int: expected an integer in [1, 2^32], got ${n}`);
    }
    // Reject the top partial range so every residue is equally likely.
    const limit = 4294967296 - (4294967296 % n);
    let u = this.nextU32();
    while (u >= limit) u = this.nextU32();
    return u % n;
  }

  /** Shuffles `a` in place (Fisher–Yates) and returns it. */
  shuffle<T extends { length: number; [i: number]: any }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = a[i];
      a[i] = a[j];
      a[j] = tmp;
    }
    return a;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Uint32Array {
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

