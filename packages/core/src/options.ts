import type { z } from 'zod';
import { MlbomError } from './errors.js';

/**
 * Validates options (of a source, of a generation) with their zod schema, naming the first bad field.
 * @throws {MlbomError} INVALID_INPUT: `<owner>: invalid <field>: <why>`
 */
export function parseOptions<S extends z.ZodType>(schema: S, value: unknown, owner: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'options';
  throw new MlbomError('INVALID_INPUT', `${owner}: invalid ${where}: ${issue?.message ?? 'invalid options'}`, {
    cause: parsed.error,
  });
}
