import { z } from 'zod';

/**
 * Every string the API accepts is built here, because PostgreSQL cannot store U+0000: not in text
 * (22021) and not in a jsonb string or key (22P05). Let through, a NUL fails the query and becomes
 * a 500; refused here, it is a 400 naming the field.
 */
const NUL = '\u0000';
const NUL_MESSAGE = 'must not contain the NUL character (U+0000)';

const hasNoNul = (value: string) => !value.includes(NUL);

/** A string without NUL; chain `.min()`, `.max()`… as on `z.string()`. */
export const text = () => z.string().refine(hasNoNul, NUL_MESSAGE);

/** A URL without NUL (the URL parser accepts one and would hand it on as is). */
export const url = (params?: Parameters<typeof z.url>[0]) => z.url(params).refine(hasNoNul, NUL_MESSAGE);

/**
 * A free-form JSON object (template context, event data, a preferences patch) whose strings and
 * keys, at any depth, hold no NUL; the issue names the first offending field.
 */
export const jsonObject = () =>
  z.record(z.string(), z.unknown()).superRefine((value, ctx) => {
    const path = nulPath(value);
    if (path) ctx.addIssue({ code: 'custom', path, message: NUL_MESSAGE });
  });

interface Visit {
  value: unknown;
  key: string;
  parent: Visit | undefined;
}

/**
 * Walks without recursion and builds a path only for the hit: a body nested tens of thousands of
 * levels deep (it fits in BODY_LIMIT_BYTES) must cost neither the stack nor quadratic time.
 */
function nulPath(root: unknown): string[] | undefined {
  const stack: Visit[] = [{ value: root, key: '', parent: undefined }];
  for (let visit = stack.pop(); visit; visit = stack.pop()) {
    const { value } = visit;
    if (typeof value === 'string') {
      if (value.includes(NUL)) return pathOf(visit);
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, child] of Object.entries(value)) {
        const next = { value: child, key, parent: visit };
        if (key.includes(NUL)) return pathOf(next);
        stack.push(next);
      }
    }
  }
  return undefined;
}

function pathOf(visit: Visit): string[] {
  const path: string[] = [];
  for (let v: Visit | undefined = visit; v?.parent; v = v.parent) path.push(v.key);
  return path.reverse();
}
