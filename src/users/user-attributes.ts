/**
 * User attributes: free-form properties the backend sets on a user (city, segment, last order
 * date…) and that audiences filter on (find-users.ts). Flat and scalar on purpose: a containment
 * filter on a flat object is one GIN lookup per pair, and a value a template or a CSV can show as
 * is. docs/users.md#attributes explains the rules and the merge.
 */
import { type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import { users } from '../db/schema.ts';
import { text } from '../text.ts';

export const MAX_ATTRIBUTES = 50;
export const MAX_ATTRIBUTE_VALUE_LENGTH = 256;
const NAME = /^[a-z0-9_]{1,64}$/;

export type AttributeValue = string | number | boolean;
export type Attributes = Record<string, AttributeValue>;

const NAME_MESSAGE = 'is not a valid attribute name: 1–64 characters of a-z, 0-9 and _';
const VALUE_MESSAGE = `must be a string (at most ${MAX_ATTRIBUTE_VALUE_LENGTH} characters), a finite number or a boolean`;

const name = z.string().regex(NAME, NAME_MESSAGE);
// JSON has no NaN or Infinity, but JSON.parse turns 1e999 into Infinity: z.number() refuses it.
const scalar = [
  text().max(MAX_ATTRIBUTE_VALUE_LENGTH, `must be at most ${MAX_ATTRIBUTE_VALUE_LENGTH} characters`),
  z.number(),
  z.boolean(),
] as const;

/** The record's own issues (a bad key, a bad value) name the key; zod's defaults say only "Invalid". */
const recordError = (valueMessage: string) => (issue: { code?: string }) => {
  if (issue.code === 'invalid_key') return NAME_MESSAGE;
  if (issue.code === 'invalid_union') return valueMessage;
  if (issue.code === 'invalid_type') return 'must be an object of attribute names and values';
  return undefined;
};

const limitKeys = <T extends z.ZodType<Record<string, unknown>>>(schema: T) =>
  schema.refine((o) => Object.keys(o).length <= MAX_ATTRIBUTES, `at most ${MAX_ATTRIBUTES} attributes`);

/**
 * What a PUT sends: a merge patch. A key with a value sets it, a key with null removes it, a key
 * not named is left as it is (the backend syncs a few fields at a time; a replace would make each
 * sync resend, or silently drop, every other attribute).
 */
export const attributesPatch = limitKeys(
  z.record(name, z.union([...scalar, z.null()], { error: `${VALUE_MESSAGE}, or null to remove it` }), {
    error: recordError(`${VALUE_MESSAGE}, or null to remove it`),
  }),
).describe(
  `Merged into the user's attributes: a value sets the key, null removes it, keys not named are kept. Names 1–64 of [a-z0-9_]; values a string (≤ ${MAX_ATTRIBUTE_VALUE_LENGTH}), finite number or boolean; at most ${MAX_ATTRIBUTES} per user`,
);

export type AttributesPatch = z.infer<typeof attributesPatch>;

/** A filter: the attributes a user must have, each with exactly this value (type included: 5 is not "5"). */
export const attributesFilter = limitKeys(
  z.record(name, z.union(scalar, { error: VALUE_MESSAGE }), { error: recordError(VALUE_MESSAGE) }),
);

/** The filter as a query-string parameter: a JSON object, e.g. `{"city":"Pune","vip":true}`. */
export const attributesFilterParam = z
  .string()
  .transform((raw, ctx) => {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object, e.g. {"city":"Pune"}' });
      return z.NEVER;
    }
  })
  .pipe(attributesFilter);

const patchJson = (patch: AttributesPatch) => sql`${JSON.stringify(patch)}::jsonb`;

/**
 * The attributes after the patch, as SQL: `||` sets the named keys (null included), and
 * jsonb_strip_nulls then drops the nulls, which removes those keys. Stored attributes never hold a
 * null and values are scalars, so nothing else is stripped. Done in the statement, so two
 * concurrent PUTs naming different keys both keep their keys.
 */
export function mergedAttributes(patch: AttributesPatch): SQL {
  return sql`jsonb_strip_nulls(${users.attributes} || ${patchJson(patch)})`;
}

/** A new user's attributes: the patch without its nulls. */
export function initialAttributes(patch: AttributesPatch): SQL {
  return sql`jsonb_strip_nulls(${patchJson(patch)})`;
}

/** True when the merge keeps the user within MAX_ATTRIBUTES: the upsert's update runs only then. */
export function mergeFits(patch: AttributesPatch): SQL {
  return sql`(select count(*) from jsonb_object_keys(${mergedAttributes(patch)})) <= ${MAX_ATTRIBUTES}`;
}
