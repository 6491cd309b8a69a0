import { classifyGlobal } from './classify.js';
import type { Collector } from './collector.js';
import type { Reader } from './input.js';
import { KERAS_MODULE_ROOTS } from './rules.js';

/**
 * Keras: a Lambda layer stores Python bytecode (marshal, base64) that Keras runs when it rebuilds the
 * model, at any depth (inside Sequential, Functional, TimeDistributed, Bidirectional wrappers). Keras 3
 * configs also name a `module` to import for each object: one outside Keras that is on the deny list
 * (`os`, `subprocess`, `builtins`...) is a code-execution path of its own.
 */

const MAX_NODES = 2_000_000;

interface Hit {
  path: string;
  node: Record<string, unknown>;
}

/** Walks a parsed Keras config iteratively (no recursion: depth is unbounded in hostile files). */
export function checkKerasConfig(collector: Collector, config: unknown, location: string): void {
  const stack: Array<{ v: unknown; path: string }> = [{ v: config, path: '$' }];
  const lambdas: Hit[] = [];
  let nodes = 0;
  while (stack.length > 0) {
    const { v, path } = stack.pop() as { v: unknown; path: string };
    if (++nodes > MAX_NODES) {
      collector.add(
        'MLBOM-SCAN-INCOMPLETE',
        'keras-config',
        `Keras config has more than ${MAX_NODES} nodes; the rest is not checked`,
        location,
      );
      break;
    }
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: `${path}[${i}]` });
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    const node = v as Record<string, unknown>;
    const cls = node.class_name;
    if (
      cls === 'Lambda' ||
      node.registered_name === 'Lambda' ||
      cls === '__lambda__' ||
      node.function_type === 'lambda'
    ) {
      lambdas.push({ path, node });
    }
    const module = node.module;
    if (typeof module === 'string' && typeof cls === 'string') {
      const root = module.split('.')[0] ?? '';
      if (!KERAS_MODULE_ROOTS.has(root)) {
        const verdict = classifyGlobal(module, cls);
        if (verdict.severity === 'critical' || verdict.severity === 'high') {
          collector.add(
            'MLBOM-KERAS-UNSAFE-MODULE',
            `${module}.${cls}`,
            `Keras config at ${path} deserializes ${module}.${cls}: ${verdict.why}`,
            location,
            { severity: verdict.severity },
          );
        }
      }
    }
    for (const [k, child] of Object.entries(node).reverse()) {
      if (child !== null && typeof child === 'object') stack.push({ v: child, path: `${path}.${k}` });
    }
  }
  for (const { path, node } of lambdas) {
    const cfg = (node.config ?? {}) as Record<string, unknown>;
    const name = typeof cfg.name === 'string' ? ` "${cfg.name}"` : '';
    const fn = cfg.function;
    const what =
      typeof fn === 'object' && fn !== null
        ? 'serialized function'
        : Array.isArray(fn)
          ? 'marshalled bytecode'
          : typeof fn === 'string'
            ? `function ${JSON.stringify(fn.slice(0, 80))}`
            : 'function';
    collector.add(
      'MLBOM-KERAS-LAMBDA',
      path,
      `Lambda layer${name} at ${path} carries a ${what} that Keras runs when it loads the model`,
      location,
    );
  }
}

/** Parses JSON text (a .keras config.json) and checks it. */
export function checkKerasJson(collector: Collector, text: string, location: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    collector.add(
      'MLBOM-FORMAT-MALFORMED',
      'keras-json',
      `Keras config is not valid JSON (${(err as Error).message})`,
      location,
    );
    // Fall back to the textual check so a broken file still shows its Lambda layers.
    checkKerasText(collector, text, 0, location);
    return;
  }
  checkKerasConfig(collector, parsed, location);
}

const LAMBDA_RE = /"class_name"\s*:\s*"(Lambda|__lambda__)"|"function_type"\s*:\s*"lambda"/g;
const MODULE_RE = /"module"\s*:\s*"([A-Za-z_][\w.]*)"\s*,\s*"class_name"\s*:\s*"([A-Za-z_][\w.]*)"/g;

/** The textual check: Keras JSON embedded in HDF5 attributes or protobuf, found without parsing them. */
export function checkKerasText(collector: Collector, text: string, base: number, location: string, seen = 0): void {
  LAMBDA_RE.lastIndex = 0;
  for (let m = LAMBDA_RE.exec(text); m; m = LAMBDA_RE.exec(text)) {
    if (m.index + m[0].length <= seen) continue; // already reported from the previous chunk
    collector.add(
      'MLBOM-KERAS-LAMBDA',
      'lambda',
      `Keras model config declares a Lambda layer (${m[0]}) at byte ${base + m.index}: Keras runs its serialized code when it loads the model`,
      location,
    );
  }
  MODULE_RE.lastIndex = 0;
  for (let m = MODULE_RE.exec(text); m; m = MODULE_RE.exec(text)) {
    if (m.index + m[0].length <= seen) continue;
    const module = m[1] as string;
    const cls = m[2] as string;
    if (KERAS_MODULE_ROOTS.has(module.split('.')[0] ?? '')) continue;
    const verdict = classifyGlobal(module, cls);
    if (verdict.severity === 'critical' || verdict.severity === 'high') {
      collector.add(
        'MLBOM-KERAS-UNSAFE-MODULE',
        `${module}.${cls}`,
        `Keras config at byte ${base + m.index} deserializes ${module}.${cls}: ${verdict.why}`,
        location,
        { severity: verdict.severity },
      );
    }
  }
}

/**
 * HDF5 (`.h5` Keras 2 models): the model config is a JSON string attribute stored verbatim (HDF5 never
 * compresses attributes), so the file is searched as text in chunks with an overlap, without an HDF5
 * parser. Reads the whole file.
 */
export async function scanKerasBytes(reader: Reader, collector: Collector, location: string): Promise<void> {
  const OVERLAP = 4096;
  let carry = '';
  let carryBase = 0;
  for (;;) {
    if (!(await reader.fill(1))) break;
    const chunk = reader.buf.subarray(reader.p);
    const base = reader.pos;
    reader.p = reader.buf.length;
    const text = carry + Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length).toString('latin1');
    const textBase = carry ? carryBase : base;
    if (text.includes('ambda') || text.includes('"module"'))
      checkKerasText(collector, text, textBase, location, carry.length);
    carry = text.slice(-OVERLAP);
    carryBase = textBase + text.length - carry.length;
  }
}
