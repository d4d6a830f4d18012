/**
 * How sure the figures are that one A/B variant beats another: a two-proportion z-test on the
 * metric the test chose (delivered / sent, or replied / sent), with its two-sided p-value.
 *
 * Written here rather than taken from npm: none of the project's dependencies has it; the
 * statistics packages that do have a normal CDF (simple-statistics, jstat, @stdlib) bring no
 * two-proportion test, and simple-statistics' CDF is a table in steps of 0.01 (too coarse for a
 * p-value). What is needed is erfc and three lines of arithmetic; test/templates tests it against
 * known values.
 */

export interface Proportion {
  successes: number;
  trials: number;
}

export interface ZTest {
  z: number;
  /** Two-sided: the chance of a difference at least this large if the variants were alike. */
  pValue: number;
}

/**
 * The complementary error function, Numerical Recipes' Chebyshev fit (erfcc): fractional error
 * below 1.2e-7 everywhere, ample for a p-value compared with 0.05 or 0.01.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const poly =
    -1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t *
                  (-0.18628806 +
                    t *
                      (0.27886807 +
                        t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const r = t * Math.exp(-z * z + poly);
  return x >= 0 ? r : 2 - r;
}

/** The standard normal CDF Φ(z). */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

/**
 * Pooled two-proportion z-test of a against b (z > 0: a's rate is higher). With no trials on one
 * side, or every trial alike on both (no variance), there is no evidence: z 0, p-value 1.
 */
export function twoProportionZTest(a: Proportion, b: Proportion): ZTest {
  if (a.trials === 0 || b.trials === 0) return { z: 0, pValue: 1 };
  const pooled = (a.successes + b.successes) / (a.trials + b.trials);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / a.trials + 1 / b.trials));
  if (se === 0) return { z: 0, pValue: 1 };
  const z = (a.successes / a.trials - b.successes / b.trials) / se;
  return { z, pValue: erfc(Math.abs(z) / Math.SQRT2) };
}

export interface Verdict {
  /** The rival it was tested against: the best of the others on the metric. */
  rival: string;
  z: number;
  p_value: number;
  /** 1 − p-value when the candidate leads; 0 when it does not (it cannot be shown better). */
  confidence: number;
  leads: boolean;
}

/**
 * Whether `candidate` beats every other variant: tested against the strongest of them (beating it
 * at a confidence beats the weaker ones at least as surely, to this test's approximation).
 */
export function verdictFor(
  candidate: Proportion,
  others: ReadonlyArray<Proportion & { label: string }>,
): Verdict | undefined {
  const rate = (p: Proportion) => (p.trials === 0 ? 0 : p.successes / p.trials);
  const rival = [...others].sort((x, y) => rate(y) - rate(x))[0];
  if (!rival) return undefined;
  const test = twoProportionZTest(candidate, rival);
  const leads = test.z > 0;
  return {
    rival: rival.label,
    z: test.z,
    p_value: test.pValue,
    confidence: leads ? 1 - test.pValue : 0,
    leads,
  };
}
