import type { z } from 'zod';
import { AppError } from '../errors.ts';

/**
 * A batch item's schema errors as the single route reports them (error-handler.ts), with the
 * item's place in the field path (`<list>.<index>.<field>`): one bad item is its own 400.
 */
export function invalidItem(list: string, index: number, error: z.ZodError): AppError {
  const errors = error.issues.flatMap((issue) => {
    const at = [list, String(index), ...issue.path.map(String)];
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
    return keys.map((key) => ({
      field: [...at, ...(key === undefined ? [] : [key])].join('.'),
      message: key === undefined ? issue.message : 'is not a known field',
    }));
  });
  return new AppError('VALIDATION_FAILED', errors.map((e) => `${e.field}: ${e.message}`).join('; '), {
    errors,
  });
}
