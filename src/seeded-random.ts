/**
 * Mulberry32: a tiny seeded source of uniform numbers in [0, 1). Written here because it is eight
 * lines and nothing else needs a package: it makes a sandbox fault sequence, or a test's weighted
 * picks, repeat exactly for the same seed.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
