import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseOptions } from './options.js';

describe('parseOptions', () => {
  const schema = z.strictObject({ depth: z.number().int().min(0).optional() });

  it('returns the parsed value', () => {
    expect(parseOptions(schema, { depth: 2 }, 'x source')).toEqual({ depth: 2 });
  });

  it('names the owner and the first bad field, as INVALID_INPUT', () => {
    expect(() => parseOptions(schema, { depth: -1 }, 'x source')).toThrow(
      expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringMatching(/^x source: invalid depth: /) }),
    );
    expect(() => parseOptions(schema, 'nope', 'x source')).toThrow(/^x source: invalid options: /);
  });
});
