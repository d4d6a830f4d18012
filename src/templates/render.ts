/**
 * Renders notification templates with LiquidJS in a sandbox: templates come from operators (the template
 * editor) and context values from the marketplace and its users, so neither may reach the file system,
 * JavaScript prototypes or unbounded CPU/memory. Parsed templates are cached by source because the
 * delivery worker renders the same few hundred templates thousands of times a second.
 */
import { Liquid, LiquidError, type Template, UndefinedVariableError } from 'liquidjs';
import { AppError } from '../errors.ts';

const SANDBOX = {
  strictVariables: true,
  strictFilters: true,
  ownPropertyOnly: true,
  // An empty in-memory template map: include/render/layout can only ever fail, never read from disk.
  templates: {},
  // DoS guards for operator-edited templates ({% for i in (1..1e9) %}); real notifications are far below.
  parseLimit: 100_000,
  renderLimit: 1_000,
  memoryLimit: 10_000_000,
};

const plainEngine = new Liquid(SANDBOX);
// Escaping is fixed at parse time, so HTML rendering needs its own engine and its own parsed templates.
const htmlEngine = new Liquid({ ...SANDBOX, outputEscape: 'escape' });

/** Bounded so a long template-editor session cannot grow the cache without limit. */
const CACHE_LIMIT = 2_000;

interface Engine {
  liquid: Liquid;
  cache: Map<string, Template[]>;
}

const PLAIN: Engine = { liquid: plainEngine, cache: new Map() };
const HTML: Engine = { liquid: htmlEngine, cache: new Map() };

function toAppError(err: unknown): unknown {
  if (err instanceof UndefinedVariableError) {
    // The token is the whole property path ("order.pickup_date"), not only the first missing segment.
    const variable = err.token.getText();
    return new AppError(
      'TEMPLATE_MISSING_VAR',
      `Template variable "${variable}" is missing from the context`,
      {
        variable,
      },
    );
  }
  if (err instanceof LiquidError) {
    return new AppError('TEMPLATE_INVALID', err.message, { reason: err.message });
  }
  return err;
}

function parseCached(engine: Engine, source: string): Template[] {
  const hit = engine.cache.get(source);
  if (hit) return hit;
  let parsed: Template[];
  try {
    parsed = engine.liquid.parse(source);
  } catch (err) {
    throw toAppError(err);
  }
  if (engine.cache.size >= CACHE_LIMIT) {
    // Map keeps insertion order: dropping the oldest entry is enough for a working set this small.
    engine.cache.delete(engine.cache.keys().next().value as string);
  }
  engine.cache.set(source, parsed);
  return parsed;
}

/**
 * Renders one template field. Throws TEMPLATE_MISSING_VAR (naming the variable path) when the context
 * lacks a variable, TEMPLATE_INVALID when the source does not parse or renders to nothing.
 */
export function renderTemplate(
  source: string,
  context: Record<string, unknown>,
  opts?: { escapeHtml?: boolean },
): string {
  const engine = opts?.escapeHtml ? HTML : PLAIN;
  const parsed = parseCached(engine, source);
  let output: string;
  try {
    output = String(engine.liquid.renderSync(parsed, context));
  } catch (err) {
    throw toAppError(err);
  }
  if (output.trim() === '') {
    throw new AppError('TEMPLATE_INVALID', 'Template rendered to an empty message', {
      reason: 'rendered to an empty message',
    });
  }
  return output;
}

/** Parses only, for the template editor and loaders: throws TEMPLATE_INVALID with the parser's message. */
export function validateTemplateSource(source: string): void {
  parseCached(PLAIN, source);
}

/**
 * The variables every template may use about its recipient, merged over the notification's own context.
 * The user record wins over the event payload so an event cannot change who a message greets; a missing
 * name becomes '' (templates supply a greeting fallback with `default`), never the text "null".
 */
export function buildTemplateContext(
  user: { firstName: string | null; lastName: string | null; email: string | null; locale: string },
  context: Record<string, unknown>,
): Record<string, unknown> {
  const firstName = user.firstName ?? '';
  const lastName = user.lastName ?? '';
  return {
    ...context,
    first_name: firstName,
    last_name: lastName,
    user: { first_name: firstName, last_name: lastName, email: user.email ?? '', locale: user.locale },
  };
}
