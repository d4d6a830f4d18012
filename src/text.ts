import { z } from 'zod';

/**
 * Every string the API accepts is built here, because PostgreSQL cannot store U+0000: not in text
 * (22021) and not in a jsonb string or key (22P05). Nor a lone UTF-16 surrogate (JSON `"\ud800"`):
 * a jsonb string refuses it (22P02) and a text column silently stores U+FFFD instead. Let through,
 * either fails the query and becomes a 500 or corrupts the row; refused here, it is a 400 naming
 * the field.
 */
const NUL = '\u0000';
const NUL_MESSAGE = 'must not contain the NUL character (U+0000)';
const SURROGATE_MESSAGE = 'must not contain a lone UTF-16 surrogate (U+D800 to U+DFFF)';

/** Why PostgreSQL could not store the string, or undefined when it can. */
const unstorable = (value: string): string | undefined => {
  if (value.includes(NUL)) return NUL_MESSAGE;
  if (!value.isWellFormed()) return SURROGATE_MESSAGE;
  return undefined;
};

const refineStorable = (value: string, ctx: z.RefinementCtx) => {
  const message = unstorable(value);
  if (message) ctx.addIssue({ code: 'custom', message });
};

/** A string PostgreSQL can store; chain `.min()`, `.max()`… as on `z.string()`. */
export const text = () => z.string().superRefine(refineStorable);

/** A URL PostgreSQL can store (the URL parser accepts a NUL and would hand it on as is). */
export const url = (params?: Parameters<typeof z.url>[0]) => z.url(params).superRefine(refineStorable);

/**
 * A free-form JSON object (template context, event data, a preferences patch) whose strings and
 * keys, at any depth, PostgreSQL can store; the issue names the first offending field.
 */
export const jsonObject = () =>
  z.record(z.string(), z.unknown()).superRefine((value, ctx) => {
    const hit = unstorablePath(value);
    if (hit) ctx.addIssue({ code: 'custom', path: hit.path, message: hit.message });
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
function unstorablePath(root: unknown): { path: string[]; message: string } | undefined {
  const stack: Visit[] = [{ value: root, key: '', parent: undefined }];
  for (let visit = stack.pop(); visit; visit = stack.pop()) {
    const { value } = visit;
    if (typeof value === 'string') {
      const message = unstorable(value);
      if (message) return { path: pathOf(visit), message };
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, child] of Object.entries(value)) {
        const next = { value: child, key, parent: visit };
        const message = unstorable(key);
        if (message) return { path: pathOf(next), message };
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
