import type { z } from 'zod';
import { badRequest, zodToFieldErrors } from './problem';

/** Parses `data` with `schema`; a failure is a 400 problem whose `errors` name each bad field. */
export function validate<S extends z.ZodType>(schema: S, data: unknown, what = 'request'): z.infer<S> {
  const result = schema.safeParse(data);
  if (!result.success) throw badRequest(`The ${what} is invalid`, zodToFieldErrors(result.error));
  return result.data;
}
