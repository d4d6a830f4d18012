/**
 * Renders notification templates with LiquidJS in a sandbox: templates come from operators (the template
 * editor) and context values from the marketplace and its users, so neither may reach the file system,
 * JavaScript prototypes or unbounded CPU/memory. Parsed templates are cached by source because the
 * delivery worker renders the same few hundred templates thousands of times a second; each render
 * thread (render-pool.ts) loads this module, so each has its own engines and cache.
 */
import { Liquid, LiquidError, type Template, UndefinedVariableError } from 'liquidjs';
import { AppError } from '../errors.ts';
import { type LinkRequest, LinkSession, type TrackedLink } from '../links/tracked-link.ts';

/**
 * The limits every render runs under, named in TEMPLATE_LIMIT_EXCEEDED. An SMS or email is a few KiB,
 * so these are far above any real message and far below what stalls the event loop: LiquidJS checks
 * `renderLimit` between nodes, so a render ends within about 200 ms whatever the template does.
 */
export const TEMPLATE_LIMITS = {
  /** Characters of source (LiquidJS `parseLimit`). */
  parse_size: 100_000,
  /** Milliseconds of one render (LiquidJS `renderLimit`). */
  render_time: 200,
  /** LiquidJS `memoryLimit` units: range elements and filter results; a (1..3000) loop in a (1..3000) loop is 9 M. */
  memory: 1_000_000,
  /** Characters of one output buffer: the message and every `capture`, which `memoryLimit` does not count. */
  output_size: 64 * 1024,
} as const;

export type TemplateLimit = keyof typeof TEMPLATE_LIMITS;

const SANDBOX = {
  strictVariables: true,
  strictFilters: true,
  ownPropertyOnly: true,
  // An empty in-memory template map: include/render/layout can only ever fail, never read from disk.
  templates: {},
  parseLimit: TEMPLATE_LIMITS.parse_size,
  renderLimit: TEMPLATE_LIMITS.render_time,
  memoryLimit: TEMPLATE_LIMITS.memory,
};

/** Thrown by a bounded output buffer; LiquidJS wraps it in a RenderError (as `originalError`). */
class OutputLimitError extends Error {
  override name = 'OutputLimitError';
}

/** LiquidJS's SimpleEmitter with a length cap, checked on every write so the text never grows past it. */
class BoundedEmitter {
  buffer = '';
  write(html: unknown): void {
    this.buffer += html === null || html === undefined ? '' : String(html);
    if (this.buffer.length > TEMPLATE_LIMITS.output_size) {
      throw new OutputLimitError(`output size limit exceeded (${TEMPLATE_LIMITS.output_size} characters)`);
    }
  }
}

/**
 * LiquidJS creates a fresh buffer for the top-level render and for every `capture` without counting
 * what is appended to it (`{{s}}{{s}}` doubles a capture at no memoryLimit cost), so every buffer it
 * would create itself is a bounded one instead.
 */
function boundOutput(liquid: Liquid): Liquid {
  const renderer = liquid.renderer;
  const renderTemplates = renderer.renderTemplates.bind(renderer);
  renderer.renderTemplates = (templates, ctx, emitter) =>
    renderTemplates(templates, ctx, emitter ?? new BoundedEmitter());
  return liquid;
}

/**
 * The links of the render under way: renderSync runs to its end on this thread, so the `track`
 * filter reads it from here rather than from the template's scope, where a template could see it.
 */
let links: LinkSession | undefined;

/** `{{ url | track }}`: a short link that records clicks (docs/tracked-links.md). */
function track(value: unknown): string {
  if (!links) {
    throw new AppError('TEMPLATE_LINK_NOT_ALLOWED', 'Tracked links work in SMS templates only', {
      reason: 'only SMS templates can track links',
    });
  }
  return links.track(value);
}

function withFilters(liquid: Liquid): Liquid {
  liquid.registerFilter('track', track);
  return boundOutput(liquid);
}

const plainEngine = withFilters(new Liquid(SANDBOX));
// Escaping is fixed at parse time, so HTML rendering needs its own engine and its own parsed templates.
const htmlEngine = withFilters(new Liquid({ ...SANDBOX, outputEscape: 'escape' }));

const LIMIT_MESSAGES: Array<[TemplateLimit, string]> = [
  ['parse_size', 'parse length limit exceeded'],
  ['render_time', 'template render limit exceeded'],
  ['memory', 'memory alloc limit exceeded'],
];

/** Which limit an error from LiquidJS hit, following the chain of wrapped errors. */
function limitHit(err: unknown): TemplateLimit | undefined {
  for (let e = err; e instanceof Error; e = (e as { originalError?: unknown }).originalError) {
    if (e instanceof OutputLimitError) return 'output_size';
    const hit = LIMIT_MESSAGES.find(([, message]) => e.message.startsWith(message));
    if (hit) return hit[0];
  }
  return undefined;
}

/** Bounded so a long template-editor session cannot grow the cache without limit. */
const CACHE_LIMIT = 2_000;

interface Engine {
  liquid: Liquid;
  cache: Map<string, Template[]>;
}

const PLAIN: Engine = { liquid: plainEngine, cache: new Map() };
const HTML: Engine = { liquid: htmlEngine, cache: new Map() };

function toAppError(err: unknown): unknown {
  // An AppError a filter threw (track's refusal), wrapped by LiquidJS in a RenderError.
  for (let e = err; e instanceof Error; e = (e as { originalError?: unknown }).originalError) {
    if (e instanceof AppError) return e;
  }
  const limit = limitHit(err);
  if (limit) {
    return new AppError(
      'TEMPLATE_LIMIT_EXCEEDED',
      `Template exceeds the ${limit} limit (${TEMPLATE_LIMITS[limit]})`,
      { limit, max: TEMPLATE_LIMITS[limit] },
    );
  }
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

export interface Rendered {
  output: string;
  /** The tracked links the render made (only with `links` given, in record or preview mode). */
  links: TrackedLink[];
}

/**
 * Renders one template field on the calling thread. Throws TEMPLATE_LINK_NOT_ALLOWED when `track`
 * is given a target it may not track (or is used without `links`: outside an SMS), and TEMPLATE_MISSING_VAR (naming the variable
 * path) when the context lacks a variable, TEMPLATE_INVALID when the source does not parse or renders
 * to nothing, TEMPLATE_LIMIT_EXCEEDED (naming the limit) when it runs past one of TEMPLATE_LIMITS.
 * Only render-pool.ts calls it (on a render thread, or inline with TEMPLATE_RENDER_THREADS=0): a
 * render can take up to `render_time`, which on the API's thread would stall every request.
 */
export function renderOnThisThread(
  source: string,
  context: Record<string, unknown>,
  opts?: { escapeHtml?: boolean; links?: LinkRequest | undefined },
): Rendered {
  const engine = opts?.escapeHtml ? HTML : PLAIN;
  const parsed = parseCached(engine, source);
  const session = opts?.links ? new LinkSession(opts.links) : undefined;
  let output: string;
  links = session;
  try {
    output = String(engine.liquid.renderSync(parsed, context));
  } catch (err) {
    throw toAppError(err);
  } finally {
    links = undefined;
  }
  if (output.trim() === '') {
    throw new AppError('TEMPLATE_INVALID', 'Template rendered to an empty message', {
      reason: 'rendered to an empty message',
    });
  }
  return { output, links: session?.made ?? [] };
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

/**
 * The context paths a template reads from outside itself ('order.order_number'; loop and assigned
 * names excluded), found by LiquidJS's static analysis: what the editor checks against a sample.
 */
export function templateVariables(source: string): string[] {
  return plainEngine.globalFullVariablesSync(parseCached(PLAIN, source));
}
