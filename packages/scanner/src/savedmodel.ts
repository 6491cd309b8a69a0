import { bufferByteSource, isMlbomError } from '@mlbom/core';
import { type Field, ProtoReader, problemMessage, WIRE_LEN } from '@mlbom/formats';
import type { Collector } from './collector.js';
import { TF_OPS } from './rules.js';

/**
 * TensorFlow SavedModel (`saved_model.pb`): walks the protobuf wire format (no schema, no TensorFlow)
 * down to every NodeDef of the graph and of its function library, and reports ops that call back
 * into Python or touch files. Field numbers are TensorFlow's:
 *   SavedModel.meta_graphs = 2; MetaGraphDef.graph_def = 2; GraphDef.node = 1, GraphDef.library = 2;
 *   FunctionDefLibrary.function = 1; FunctionDef.node_def = 3, FunctionDef.signature = 1 (OpDef.name = 1);
 *   NodeDef.name = 1, NodeDef.op = 2.
 */

const utf8 = new TextDecoder('utf-8');
/** Node and function names are quoted in findings up to this many bytes. */
const MAX_NAME = 200;

export async function scanSavedModel(collector: Collector, buf: Uint8Array, location: string): Promise<void> {
  const seen = new Map<string, { count: number; nodes: string[]; where: string }>();
  const r = new ProtoReader(bufferByteSource(buf, 'saved_model.pb'), 'protobuf');
  /** A string field's first MAX_NAME bytes, decoded leniently (names are only quoted). */
  const text = async (f: Field) => utf8.decode(await r.bytes({ ...f, length: Math.min(f.length, MAX_NAME) }, MAX_NAME));
  const node = async (f: Field, depth: number, where: string) => {
    let name = '';
    let op = '';
    await r.sub(
      f,
      async (g) => {
        if (g.wire !== WIRE_LEN) return;
        if (g.number === 1) name = await text(g);
        else if (g.number === 2) op = await text(g);
      },
      depth,
    );
    if (!TF_OPS[op]) return;
    const hit = seen.get(op) ?? { count: 0, nodes: [], where };
    hit.count++;
    if (hit.nodes.length < 3) hit.nodes.push(name);
    seen.set(op, hit);
  };
  const fn = async (f: Field, depth: number) => {
    let fname = '';
    await r.sub(
      f,
      async (g) => {
        if (g.wire !== WIRE_LEN) return;
        if (g.number === 1) {
          await r.sub(
            g,
            async (h) => {
              if (h.number === 1 && h.wire === WIRE_LEN) fname = await text(h);
            },
            depth + 1,
          );
        } else if (g.number === 3) await node(g, depth + 1, `function ${fname}`);
      },
      depth,
    );
  };
  const graph = (f: Field, depth: number) =>
    r.sub(
      f,
      async (g) => {
        if (g.wire !== WIRE_LEN) return;
        if (g.number === 1) await node(g, depth + 1, 'graph');
        else if (g.number === 2) {
          await r.sub(
            g,
            async (h) => {
              if (h.number === 1 && h.wire === WIRE_LEN) await fn(h, depth + 2);
            },
            depth + 1,
          );
        }
      },
      depth,
    );
  try {
    await r.walk(0, buf.length, async (mg) => {
      if (mg.number !== 2 || mg.wire !== WIRE_LEN) return;
      await r.sub(
        mg,
        async (f) => {
          if (f.number === 2 && f.wire === WIRE_LEN) await graph(f, 1);
        },
        0,
      );
    });
  } catch (err) {
    if (!isMlbomError(err) || err.code !== 'FORMAT_INVALID') throw err;
    const why = problemMessage(err, 'saved_model.pb');
    collector.add('MLBOM-FORMAT-MALFORMED', 'savedmodel', `saved_model.pb cannot be parsed: ${why}`, location);
  }
  for (const [op, hit] of seen) {
    const rule = TF_OPS[op] as 'MLBOM-TF-PYFUNC' | 'MLBOM-TF-FILE-OP';
    const what =
      rule === 'MLBOM-TF-PYFUNC'
        ? 'calls a Python function registered in the loading process'
        : 'reads or writes files at run time';
    collector.add(
      rule,
      op,
      `op ${op} (${hit.where}, node ${hit.nodes.map((n) => JSON.stringify(n)).join(', ')}) ${what}`,
      location,
      { count: hit.count },
    );
  }
}
