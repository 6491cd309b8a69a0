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

class Bad extends Error {}

interface Field {
  no: number;
  wire: number;
  start: number;
  end: number;
}

/** The fields of one message in `buf[start, end)`; length-delimited ones as ranges. */
function* fields(buf: Uint8Array, start: number, end: number): Generator<Field> {
  let p = start;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (p >= end) throw new Bad('truncated varint');
      const b = buf[p++] as number;
      v += (b & 0x7f) * mul;
      if (!(b & 0x80)) return v;
      mul *= 128;
    }
    throw new Bad('varint too long');
  };
  while (p < end) {
    const key = varint();
    const no = Math.floor(key / 8);
    const wire = key % 8;
    switch (wire) {
      case 0:
        varint();
        yield { no, wire, start: p, end: p };
        break;
      case 1:
        p += 8;
        if (p > end) throw new Bad('truncated fixed64');
        break;
      case 5:
        p += 4;
        if (p > end) throw new Bad('truncated fixed32');
        break;
      case 2: {
        const len = varint();
        const s = p;
        p += len;
        if (p > end) throw new Bad('length-delimited field runs past its message');
        yield { no, wire, start: s, end: p };
        break;
      }
      default:
        throw new Bad(`unsupported wire type ${wire}`);
    }
  }
}

const utf8 = new TextDecoder('utf-8');

export function scanSavedModel(collector: Collector, buf: Uint8Array, location: string): void {
  const seen = new Map<string, { count: number; nodes: string[]; where: string }>();
  const node = (s: number, e: number, where: string) => {
    let name = '';
    let op = '';
    for (const f of fields(buf, s, e)) {
      if (f.wire !== 2) continue;
      if (f.no === 1) name = utf8.decode(buf.subarray(f.start, Math.min(f.end, f.start + 200)));
      else if (f.no === 2) op = utf8.decode(buf.subarray(f.start, Math.min(f.end, f.start + 200)));
    }
    if (!TF_OPS[op]) return;
    const hit = seen.get(op) ?? { count: 0, nodes: [], where };
    hit.count++;
    if (hit.nodes.length < 3) hit.nodes.push(name);
    seen.set(op, hit);
  };
  const graph = (s: number, e: number) => {
    for (const f of fields(buf, s, e)) {
      if (f.wire !== 2) continue;
      if (f.no === 1) node(f.start, f.end, 'graph');
      else if (f.no === 2) {
        for (const fn of fields(buf, f.start, f.end)) {
          if (fn.no !== 1 || fn.wire !== 2) continue;
          let fname = '';
          for (const g of fields(buf, fn.start, fn.end)) {
            if (g.wire !== 2) continue;
            if (g.no === 1) {
              for (const h of fields(buf, g.start, g.end)) {
                if (h.no === 1 && h.wire === 2)
                  fname = utf8.decode(buf.subarray(h.start, Math.min(h.end, h.start + 200)));
              }
            } else if (g.no === 3) node(g.start, g.end, `function ${fname}`);
          }
        }
      }
    }
  };
  try {
    for (const mg of fields(buf, 0, buf.length)) {
      if (mg.no !== 2 || mg.wire !== 2) continue;
      for (const f of fields(buf, mg.start, mg.end)) if (f.no === 2 && f.wire === 2) graph(f.start, f.end);
    }
  } catch (err) {
    if (!(err instanceof Bad)) throw err;
    collector.add('MLBOM-FORMAT-MALFORMED', 'savedmodel', `saved_model.pb cannot be parsed: ${err.message}`, location);
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
