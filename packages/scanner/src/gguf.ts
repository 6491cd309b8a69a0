import type { Collector } from './collector.js';
import type { Reader } from './input.js';
import { TEMPLATE_PATTERNS } from './rules.js';

/**
 * GGUF: reads the key/value header only (tensor data is never read) and checks every chat template
 * (`tokenizer.chat_template`, `tokenizer.chat_template.<name>`) for constructs that escape a Jinja
 * sandbox. Runtimes that render the template with plain Jinja run what it reaches.
 */

const MAX_KV = 1_000_000;
const MAX_STRING = 256 * 1024 * 1024;
const MAX_TEMPLATE = 4 * 1024 * 1024;
const utf8 = new TextDecoder('utf-8');

class Bad extends Error {}

/**
 * Checks a chat template; reports each pattern once. The same template rules apply to GGUF headers
 * and to the Hugging Face tokenizer files (`tokenizer_config.json`, `chat_template.jinja`), which
 * transformers renders with Jinja as well; only the rule ids say where the template came from.
 */
export function checkTemplate(
  collector: Collector,
  template: string,
  key: string,
  location: string,
  origin: 'gguf' | 'tokenizer' = 'gguf',
): void {
  let injection = false;
  for (const p of TEMPLATE_PATTERNS) {
    // The generic double-underscore pattern only matters when no known internal was named.
    if (injection && p.rule === 'MLBOM-GGUF-TEMPLATE-SUSPICIOUS' && p.what === 'double-underscore identifier') continue;
    const m = p.re.exec(template);
    if (!m) continue;
    if (p.rule === 'MLBOM-GGUF-TEMPLATE-INJECTION') injection = true;
    const at = m.index;
    const snippet = template.slice(Math.max(0, at - 40), at + 60).replace(/\s+/g, ' ');
    const rule =
      origin === 'gguf'
        ? p.rule
        : p.rule === 'MLBOM-GGUF-TEMPLATE-INJECTION'
          ? 'MLBOM-CHAT-TEMPLATE-INJECTION'
          : 'MLBOM-CHAT-TEMPLATE-SUSPICIOUS';
    collector.add(
      rule,
      `${key}: ${p.what}`,
      `${key} contains ${p.what} "${m[0]}" at character ${at}: ...${snippet}...`,
      location,
    );
  }
}

export async function scanGguf(reader: Reader, collector: Collector, location: (o: number) => string): Promise<void> {
  const need = async (n: number) => {
    if (!(await reader.fill(n))) throw new Bad('truncated GGUF header');
  };
  const u32 = async () => {
    await need(4);
    const b = reader.buf;
    const p = reader.p;
    reader.p += 4;
    return (
      ((b[p] as number) | ((b[p + 1] as number) << 8) | ((b[p + 2] as number) << 16)) + (b[p + 3] as number) * 0x1000000
    );
  };
  const u64 = async () => {
    const lo = await u32();
    const hi = await u32();
    return hi * 0x100000000 + lo;
  };
  try {
    await need(8);
    reader.p += 4; // GGUF
    const version = await u32();
    if (version < 1 || version > 3) throw new Bad(`unsupported GGUF version ${version}`);
    const len = version === 1 ? u32 : u64;
    await len(); // tensor count
    const kvCount = await len();
    if (kvCount > MAX_KV) throw new Bad(`GGUF claims ${kvCount} metadata entries`);
    const readString = async (keep: boolean): Promise<string | undefined> => {
      const n = await len();
      if (n > MAX_STRING) throw new Bad(`GGUF string of ${n} bytes`);
      if (!keep) {
        if (!(await reader.skip(n))) throw new Bad('truncated GGUF string');
        return undefined;
      }
      const b = await reader.take(n, MAX_TEMPLATE);
      if (!b) throw new Bad('truncated GGUF string');
      return utf8.decode(b);
    };
    const SCALAR: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
    const skipValue = async (type: number, depth: number, templateKey: string | undefined): Promise<void> => {
      const size = SCALAR[type];
      if (size !== undefined) {
        if (!(await reader.skip(size))) throw new Bad('truncated GGUF value');
        return;
      }
      if (type === 8) {
        const s = await readString(templateKey !== undefined);
        if (s !== undefined && templateKey) checkTemplate(collector, s, templateKey, location(reader.pos));
        return;
      }
      if (type === 9) {
        if (depth > 4) throw new Bad('GGUF arrays nested too deeply');
        const elemType = await u32();
        const count = await len();
        const elemSize = SCALAR[elemType];
        if (elemSize !== undefined) {
          if (!(await reader.skip(count * elemSize))) throw new Bad('truncated GGUF array');
          return;
        }
        for (let i = 0; i < count; i++)
          await skipValue(elemType, depth + 1, templateKey ? `${templateKey}[${i}]` : undefined);
        return;
      }
      throw new Bad(`unknown GGUF value type ${type}`);
    };
    for (let i = 0; i < kvCount; i++) {
      const key = (await readString(true)) ?? '';
      const type = await u32();
      const isTemplate = /^tokenizer\.chat_template/.test(key) || /template/i.test(key);
      await skipValue(type, 0, isTemplate ? key : undefined);
    }
  } catch (err) {
    if (!(err instanceof Bad)) throw err;
    collector.add('MLBOM-FORMAT-MALFORMED', 'gguf', `GGUF header cannot be read: ${err.message}`, location(reader.pos));
  }
}
