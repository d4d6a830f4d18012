import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { pickVariant, variantBucket } from '../../src/templates/variant-assignment.ts';
import { erfc, normalCdf, twoProportionZTest, verdictFor } from '../../src/templates/variant-confidence.ts';

const USERS = Array.from({ length: 10_000 }, (_, i) => `user-${String(i).padStart(5, '0')}`);

function split(groupId: number, variants: Array<{ label: string; weight: number }>): Map<string, number> {
  const counts = new Map<string, number>(variants.map((v) => [v.label, 0]));
  for (const u of USERS) {
    const v = pickVariant(groupId, u, variants)!;
    counts.set(v.label, counts.get(v.label)! + 1);
  }
  return counts;
}

/**
 * The tolerance a fair split of n users would stay within: 4 binomial standard deviations. The
 * users and the hash are fixed, so the split is one exact number that never changes between runs;
 * the bound says the hash spreads users as a fair draw would (a biased hash lands far outside it).
 */
function within(count: number, n: number, share: number): boolean {
  return Math.abs(count - n * share) <= 4 * Math.sqrt(n * share * (1 - share));
}

describe('A/B variant assignment', () => {
  test('10,000 users split close to the weights: 50/50, 70/30 and three variants', () => {
    for (const [groupId, variants] of [
      [
        1,
        [
          { label: 'A', weight: 50 },
          { label: 'B', weight: 50 },
        ],
      ],
      [
        2,
        [
          { label: 'A', weight: 70 },
          { label: 'B', weight: 30 },
        ],
      ],
      [
        3,
        [
          { label: 'A', weight: 1 },
          { label: 'B', weight: 1 },
          { label: 'C', weight: 2 },
        ],
      ],
    ] as const) {
      const total = variants.reduce((s, v) => s + v.weight, 0);
      const counts = split(groupId, [...variants]);
      for (const v of variants) {
        const count = counts.get(v.label)!;
        assert.ok(within(count, USERS.length, v.weight / total), `group ${groupId} ${v.label}: ${count}`);
      }
      // Deterministic: the same split again, to the user.
      assert.deepEqual(split(groupId, [...variants]), counts);
    }
  });

  test('a variant with weight 0 gets nobody; every weight 0 assigns no variant', () => {
    const counts = split(4, [
      { label: 'A', weight: 0 },
      { label: 'B', weight: 5 },
    ]);
    assert.equal(counts.get('A'), 0);
    assert.equal(counts.get('B'), USERS.length);
    assert.equal(pickVariant(4, 'u', [{ label: 'A', weight: 0 }]), undefined);
  });

  test('the order variants are listed in does not move a user', () => {
    const ab = [
      { label: 'A', weight: 30 },
      { label: 'B', weight: 70 },
    ];
    for (const u of USERS.slice(0, 500)) {
      assert.equal(pickVariant(9, u, ab)!.label, pickVariant(9, u, [...ab].reverse())!.label);
    }
  });

  test('two groups split the same users independently (the group id is part of the key)', () => {
    const ab = [
      { label: 'A', weight: 50 },
      { label: 'B', weight: 50 },
    ];
    const same = USERS.filter((u) => pickVariant(11, u, ab)!.label === pickVariant(12, u, ab)!.label).length;
    assert.ok(within(same, USERS.length, 0.5), `${same} users got the same letter in both groups`);
  });

  test('sticky across processes: another Node process computes the same buckets', () => {
    const sample = USERS.slice(0, 50);
    const script = `import { variantBucket } from ${JSON.stringify(new URL('../../src/templates/variant-assignment.ts', import.meta.url).href)};
      console.log(JSON.stringify(${JSON.stringify(sample)}.map((u) => variantBucket(7, u))));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.deepEqual(
      JSON.parse(out),
      sample.map((u) => variantBucket(7, u)),
    );
  });
});

describe('A/B variant confidence (two-proportion z-test)', () => {
  const close = (actual: number, expected: number, tol = 2e-7) =>
    assert.ok(Math.abs(actual - expected) <= tol, `${actual} is not ${expected}`);

  test('the normal CDF and erfc match known values', () => {
    // Reference values: Python's math.erfc (correctly rounded).
    close(normalCdf(0), 0.5);
    close(normalCdf(1), 0.8413447460685429);
    close(normalCdf(1.96), 0.9750021048517795);
    close(normalCdf(-3), 0.0013498980316300957);
    close(erfc(1.96 / Math.SQRT2), 0.04999579029644087);
  });

  test('z and p-value match worked examples', () => {
    // 45/100 against 30/100: z = 2.1909, p = 0.0285 (significant at 95 %, not at 99 %).
    const a = twoProportionZTest({ successes: 45, trials: 100 }, { successes: 30, trials: 100 });
    close(a.z, 2.1908902300206647, 1e-9);
    close(a.pValue, 0.02845973691631057);
    const b = twoProportionZTest({ successes: 480, trials: 1000 }, { successes: 520, trials: 1000 });
    close(b.z, -1.7888543819998333, 1e-9);
    close(b.pValue, 0.07363827012030244);
    const c = twoProportionZTest({ successes: 950, trials: 1000 }, { successes: 920, trials: 1000 });
    close(c.pValue, 0.006506597483637968);
  });

  test('no sends or no variance is no evidence', () => {
    assert.deepEqual(twoProportionZTest({ successes: 0, trials: 0 }, { successes: 5, trials: 9 }), {
      z: 0,
      pValue: 1,
    });
    assert.deepEqual(twoProportionZTest({ successes: 10, trials: 10 }, { successes: 4, trials: 4 }), {
      z: 0,
      pValue: 1,
    });
  });

  test('a verdict tests against the strongest rival and gives no confidence to a trailing variant', () => {
    const v = verdictFor({ successes: 45, trials: 100 }, [
      { label: 'B', successes: 30, trials: 100 },
      { label: 'C', successes: 10, trials: 100 },
    ])!;
    assert.equal(v.rival, 'B');
    assert.equal(v.leads, true);
    close(v.confidence, 1 - 0.02845973691631057);
    const behind = verdictFor({ successes: 30, trials: 100 }, [{ label: 'A', successes: 45, trials: 100 }])!;
    assert.equal(behind.leads, false);
    assert.equal(behind.confidence, 0);
  });
});
