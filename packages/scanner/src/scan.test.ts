import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync, deflateSync } from 'node:zlib';
import { type ByteSource, bufferByteSource, fileByteSource } from '@mlbom/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { INTEGRITY_RULES, type RuleId } from './rules.js';
import { type ScanResult, scan, scanIfRelevant, shouldScan } from './scan.js';
import { layoutZip, op, pickle, SYSTEM_CALL, stateDictPickle, zerosCrc, zipBuffer } from './test-utils.js';

const scanBytes = (bytes: Uint8Array, path: string, limits = {}) =>
  scan(bufferByteSource(bytes, path), { path, limits });

describe('scan of a 1 GiB PyTorch zip', () => {
  // Its speed is measured by `pnpm bench` (bench/scan.mjs); here only what it reads is checked.
  it('reads only the central directory and the pickle members', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mlbom-scan-'));
    try {
      const numel = 256 * 1024 * 1024; // 1 GiB of float32
      const size = numel * 4;
      const layout = layoutZip([
        { name: 'archive/data.pkl', data: stateDictPickle(numel) },
        { name: 'archive/byteorder', data: Buffer.from('little') },
        { name: 'archive/data/0', zeros: size, zerosCrc: zerosCrc(size) },
        { name: 'archive/version', data: Buffer.from('3\n') },
      ]);
      const path = join(dir, 'big.pt');
      const handle = await open(path, 'w');
      try {
        for (const p of layout.pieces) await handle.write(p.bytes, 0, p.bytes.length, p.offset);
        await handle.truncate(layout.size);
      } finally {
        await handle.close();
      }
      const source = await fileByteSource(path);
      try {
        expect(source.size).toBeGreaterThan(1024 ** 3);
        const result = await scan(source, { path: 'big.pt' });
        expect(result.status).toBe('clean');
        expect(result.format).toBe('pytorch-zip');
        expect(result.findings).toEqual([]);
        expect(result.members).toContain('archive/data.pkl');
        expect(source.bytesRead).toBeLessThan(128 * 1024);
        expect(result.bytesRead).toBe(source.bytesRead);
        // Without looking at tensor storages (for sources that pay per request), still fewer bytes.
        const lean = await fileByteSource(path);
        const leanResult = await scan(lean, { path: 'big.pt', sniffStorages: false });
        await lean.close();
        expect(leanResult.status).toBe('clean');
        expect(lean.bytesRead).toBeLessThan(source.bytesRead);
      } finally {
        await source.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('bad input stays bounded', () => {
  it('walks 10^6 opcodes and still finds the payload after them', async () => {
    const filler = Buffer.alloc(1_000_000);
    for (let i = 0; i < filler.length; i += 2) {
      filler[i] = 0x4e; // NONE
      filler[i + 1] = 0x30; // POP
    }
    const bytes = pickle(op.proto(2), filler, SYSTEM_CALL.subarray(2));
    // Bounded by the opcode walk being linear; a hang would hit the test timeout.
    const result = await scanBytes(bytes, 'big.pkl');
    expect(result.findings[0]?.ruleId).toBe('MLBOM-PICKLE-CRITICAL-GLOBAL');
    expect(result.findings[0]?.location).toBe(`@${1_000_002}`);
  });

  it('falls back to reading opcodes only when the stack outgrows its limit, and still reports globals', async () => {
    const pushes = Buffer.alloc(5000, 0x4e); // 5000 x NONE
    const bytes = pickle(op.proto(2), pushes, SYSTEM_CALL.subarray(2));
    const result = await scanBytes(bytes, 'x.pkl', {
      pickle: { maxStack: 1000, maxMemo: 1000, maxItems: 100, maxKeptBytes: 1024 },
    });
    const rules = result.findings.map((f) => f.ruleId);
    expect(rules).toContain('MLBOM-PICKLE-CRITICAL-GLOBAL');
    expect(rules).toContain('MLBOM-SCAN-INCOMPLETE');
  });

  it('stops a pickle that never ends at the stream limit', async () => {
    // A source that claims 1 TiB and hands out NONE/POP forever.
    let bytesRead = 0;
    const endless: ByteSource = {
      name: 'endless',
      size: 1024 ** 4,
      get bytesRead() {
        return bytesRead;
      },
      async read(_offset, length) {
        const out = Buffer.alloc(length);
        for (let i = 0; i < length; i++) out[i] = i % 2 === 0 ? 0x4e : 0x30;
        out[0] = 0x4e;
        bytesRead += length;
        return out;
      },
      async close() {},
    };
    const result = await scan(endless, { path: 'endless.pkl', limits: { maxStreamBytes: 8 * 1024 * 1024 } });
    expect(result.status).toBe('error');
    expect(result.findings.map((f) => f.ruleId)).toContain('MLBOM-SCAN-INCOMPLETE');
    expect(bytesRead).toBeLessThanOrEqual(9 * 1024 * 1024);
  });

  it('reports an undefined memo key and keeps what was found before it', async () => {
    const bytes = pickle(SYSTEM_CALL.subarray(0, -1), op.POP, op.binget(99), op.STOP);
    const result = await scanBytes(bytes, 'm.pkl');
    expect(result.status).toBe('unsafe');
    expect(result.findings.map((f) => f.ruleId)).toEqual(['MLBOM-PICKLE-CRITICAL-GLOBAL', 'MLBOM-PICKLE-MALFORMED']);
  });

  it('handles 100k nested containers without recursion', async () => {
    const depth = 100_000;
    const bytes = pickle(
      op.proto(2),
      Buffer.alloc(depth * 2).fill(Buffer.from(']('), 0),
      SYSTEM_CALL.subarray(2, -1),
      Buffer.alloc(depth, 'e'),
      op.STOP,
    );
    const result = await scanBytes(bytes, 'deep.pkl');
    expect(result.status).toBe('unsafe');
    expect(result.findings).toHaveLength(1);
  });

  /** The status follows from the findings: any threat makes it unsafe; otherwise an integrity note (not trailing data) makes it error. */
  function expectConsistentStatus(result: ScanResult): void {
    const rules = result.findings.map((f) => f.ruleId as RuleId);
    const threat = rules.some((r) => !INTEGRITY_RULES.has(r));
    const incomplete = rules.some((r) => INTEGRITY_RULES.has(r) && r !== 'MLBOM-PICKLE-TRAILING-DATA');
    expect(result.status).toBe(threat ? 'unsafe' : incomplete ? 'error' : 'clean');
  }
  /** PROTO 2 (2 bytes) and GLOBAL 'os\nsystem\n' (11 bytes). */
  const GLOBAL_END = 13;

  it('never throws on random bytes, truncated pickles or garbage after PROTO', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 2048 }),
        fc.constantFrom('a.pkl', 'a.bin', 'a.pt', 'a.joblib', 'a.npy', 'a.gguf', 'a.zip'),
        async (bytes, name) => {
          expectConsistentStatus(await scanBytes(bytes, name));
        },
      ),
      { numRuns: 300 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: SYSTEM_CALL.length }),
        fc.uint8Array({ maxLength: 64 }),
        async (cut, tail) => {
          const bytes = Buffer.concat([SYSTEM_CALL.subarray(0, cut), tail]);
          const result = await scanBytes(bytes, 'cut.pkl');
          expectConsistentStatus(result);
          // Once the whole GLOBAL os.system opcode is in, the import is reported whatever follows.
          if (cut >= GLOBAL_END) {
            expect(result.status).toBe('unsafe');
            expect(result.findings.map((f) => f.ruleId)).toContain('MLBOM-PICKLE-CRITICAL-GLOBAL');
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('flags a zip whose members overlap (a zip bomb) without inflating them', async () => {
    const zeros = deflateRawSync(Buffer.alloc(1024 * 1024));
    const zip = zipBuffer([{ name: 'a.bin', data: zeros }]);
    // A second central entry pointing at the same local header.
    const eocdAt = zip.length - 22;
    const cdSize = zip.readUInt32LE(eocdAt + 12);
    const cdAt = zip.readUInt32LE(eocdAt + 16);
    const entry = Buffer.from(zip.subarray(cdAt, cdAt + cdSize));
    const copy = Buffer.from(entry);
    copy.write('b', 46, 'latin1');
    const eocd = Buffer.from(zip.subarray(eocdAt));
    eocd.writeUInt16LE(2, 8);
    eocd.writeUInt16LE(2, 10);
    eocd.writeUInt32LE(cdSize * 2, 12);
    const bomb = Buffer.concat([zip.subarray(0, cdAt), entry, copy, eocd]);
    const result = await scanBytes(bomb, 'bomb.zip');
    expect(result.findings.map((f) => f.ruleId)).toContain('MLBOM-ARCHIVE-BOMB');
  });

  it('stops inflating at the decompression budget', async () => {
    const inner = Buffer.concat([pickle(op.proto(2)), Buffer.alloc(4 * 1024 * 1024, 0x4e)]);
    const result = await scanBytes(deflateSync(inner), 'big.joblib', { maxDecompressedBytes: 1024 * 1024 });
    expect(result.findings.map((f) => f.ruleId)).toContain('MLBOM-ARCHIVE-BOMB');
  });

  it('reports zip tricks: name mismatch, encryption flag, bad CRC, traversal', async () => {
    const zip = zipBuffer([
      { name: 'archive/data.pkl', localName: 'archive/data.pkx', data: SYSTEM_CALL, flags: 1 },
      { name: '../../etc/passwd', data: Buffer.from('root:x:0:0\n') },
    ]);
    const result = await scanBytes(zip, 'tricks.pt');
    const rules = result.findings.map((f) => f.ruleId);
    expect(rules).toContain('MLBOM-PICKLE-CRITICAL-GLOBAL');
    expect(rules.filter((r) => r === 'MLBOM-ARCHIVE-TAMPERED').length).toBe(2);
    expect(rules).toContain('MLBOM-ARCHIVE-PATH-TRAVERSAL');
  });

  it('treats an empty file or a zip without a directory as not analysable', async () => {
    expect((await scanBytes(new Uint8Array(0), 'empty.pkl')).status).toBe('error');
    expect((await scanBytes(Buffer.from('PK\x03\x04garbage'), 'x.pt')).status).toBe('error');
  });
});

describe('shouldScan', () => {
  it('takes pickles, archives and model formats by content or name, not text or safetensors', () => {
    expect(shouldScan('x.bin', SYSTEM_CALL)).toBe(true);
    expect(shouldScan('x.txt', Buffer.from('cos\nsystem\n(S"x"\ntR.'))).toBe(true);
    expect(shouldScan('README.md', Buffer.from('# Model card\n'))).toBe(false);
    expect(shouldScan('requirements.txt', Buffer.from('torch==2.1\n'))).toBe(false);
    expect(shouldScan('m.pt', Buffer.from('PK\x03\x04'))).toBe(true);
    expect(shouldScan('m.keras', Buffer.alloc(0))).toBe(true);
    const st = Buffer.alloc(16);
    st.writeBigUInt64LE(8n);
    st.write('{"a":1} ', 8);
    expect(shouldScan('m.safetensors', st)).toBe(false);
  });
});

describe('files that only look like pickles', () => {
  it('does not take a text file whose first line reads like a protocol-0 GLOBAL for a pickle', async () => {
    // A wheel's RECORD: "c" + a path is GLOBAL to a pickle parser, but no loader could import that name.
    const record = Buffer.from(
      'colorama-0.4.6.dist-info/METADATA,sha256=7baed29eb50c3b29bdb33ff84e3177bf1bc05784f7685ecdcaa4471c7dd810cc,17158\n' +
        'colorama-0.4.6.dist-info/RECORD,,\n'.repeat(40),
    );
    const result = await scanBytes(record, 'RECORD');
    expect(result.findings).toEqual([]);
    expect(result.status).toBe('clean');
    // A real protocol-0 payload in the same kind of file is still found.
    const payload = await scanBytes(Buffer.from("cposix\nsystem\n(S'echo pwned'\ntR."), 'RECORD');
    expect(payload.findings[0]?.ruleId).toBe('MLBOM-PICKLE-CRITICAL-GLOBAL');
  });

  it('calls a file named like a pickle that fails at its first byte not a pickle, rather than a malformed one', async () => {
    // An IDL .sav file ("SR\0\4"): pickle.load stops at its first opcode, so nothing could run.
    const idl = Buffer.concat([Buffer.from([0x53, 0x52, 0x00, 0x04]), Buffer.alloc(60, 7)]);
    const result = await scanBytes(idl, 'array.sav');
    expect(result.findings.map((f) => [f.ruleId, f.severity])).toEqual([['MLBOM-FORMAT-MALFORMED', 'medium']]);
    // A pickle that breaks after its first opcode is still malformed at HIGH: what came before would run.
    const broken = await scanBytes(Buffer.from([0x80, 0x02, 0x7d, 0xfa]), 'model.pkl');
    expect(broken.findings.map((f) => [f.ruleId, f.severity])).toContainEqual(['MLBOM-PICKLE-MALFORMED', 'high']);
  });

  it('reports a legacy .lzma stream (joblib compress="lzma") as not analysed, never clean', async () => {
    // Python's lzma.compress(<pickle calling posix.system>, format=FORMAT_ALONE): its first byte is EMPTY_LIST.
    const lzma = Buffer.from(
      'XQAAQAD//////////wBAAIgDy4fmDj/G26ZiOtDgF6QTzeGmzlTliSZWgv76cMeiIUj4a///0+YAAA==',
      'base64',
    );
    const result = await scanBytes(lzma, 'model.joblib');
    expect(result.status).toBe('error');
    // Named as a pickle: HIGH, so the default gate stops it; under another name, MEDIUM.
    expect(result.findings.map((f) => [f.ruleId, f.severity])).toEqual([['MLBOM-PICKLE-UNDECODED', 'high']]);
    expect(result.findings[0]?.detail).toContain('lzma');
    const other = await scanBytes(lzma, 'model.pkl.lzma');
    expect(other.findings.map((f) => [f.ruleId, f.severity])).toEqual([['MLBOM-SCAN-INCOMPLETE', 'medium']]);
  });
});

describe('joblib arrays', () => {
  // joblib's NumpyArrayWrapper for int64[5], as joblib 0.10 (no alignment) and 1.2+ (16-byte alignment) write it.
  const wrapper = (alignment: boolean) =>
    Buffer.concat([
      op.proto(2),
      op.global('joblib.numpy_pickle', 'NumpyArrayWrapper'),
      op.EMPTY_TUPLE,
      Buffer.from([0x81]), // NEWOBJ
      op.EMPTY_DICT,
      op.MARK,
      op.su('dtype'),
      op.global('numpy', 'dtype'),
      op.su('i8'),
      Buffer.from([0x89, 0x88, 0x87]), // NEWFALSE NEWTRUE TUPLE3: numpy.dtype('i8', False, True)
      op.REDUCE,
      op.su('shape'),
      Buffer.from([0x4b, 5]), // BININT1 5
      op.TUPLE1,
      op.su('allow_mmap'),
      Buffer.from([0x88]),
      ...(alignment ? [op.su('numpy_array_alignment_bytes'), Buffer.from([0x4b, 16])] : []),
      op.SETITEMS,
      op.BUILD,
    ]);
  const elements = Buffer.alloc(40);
  for (let i = 0; i < 5; i++) elements.writeBigInt64LE(BigInt(i + 1), i * 8);

  it('skips the elements right after the wrapper of an old dump (no padding byte)', async () => {
    const result = await scanBytes(Buffer.concat([wrapper(false), elements, op.STOP]), 'old.pkl');
    expect(result.findings).toEqual([]);
    expect(result.status).toBe('clean');
  });

  it('skips the padding-length byte and padding joblib 1.2+ writes before the elements', async () => {
    const padded = Buffer.concat([wrapper(true), Buffer.from([3, 0xff, 0xff, 0xff]), elements, op.STOP]);
    expect((await scanBytes(padded, 'new.pkl')).status).toBe('clean');
    const payloadAfter = Buffer.concat([padded.subarray(0, -1), op.POP, SYSTEM_CALL.subarray(2)]);
    expect((await scanBytes(payloadAfter, 'new.pkl')).findings[0]?.ruleId).toBe('MLBOM-PICKLE-CRITICAL-GLOBAL');
  });
});

describe('tokenizer chat templates', () => {
  const chatml =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}";
  const sandboxEscape =
    "{{ ''.__class__.__mro__[1].__subclasses__() }}{{ cycler.__init__.__globals__.os.popen('echo pwned') }}";

  it('flags a template that reaches Python internals in tokenizer_config.json and chat_template.jinja', async () => {
    const config = Buffer.from(JSON.stringify({ tokenizer_class: 'X', chat_template: sandboxEscape }));
    const fromConfig = await scanBytes(config, 'repo/tokenizer_config.json');
    expect(fromConfig.status).toBe('unsafe');
    expect(fromConfig.findings.map((f) => f.ruleId)).toContain('MLBOM-CHAT-TEMPLATE-INJECTION');
    expect(fromConfig.findings.find((f) => f.ruleId === 'MLBOM-CHAT-TEMPLATE-INJECTION')?.severity).toBe('critical');

    const named = Buffer.from(
      JSON.stringify({
        chat_template: [
          { name: 'default', template: chatml },
          { name: 'tool_use', template: sandboxEscape },
        ],
      }),
    );
    const fromList = await scanBytes(named, 'tokenizer_config.json');
    expect(fromList.findings.some((f) => f.detail.startsWith('chat_template.tool_use'))).toBe(true);

    const jinja = await scanBytes(Buffer.from(sandboxEscape), 'chat_template.jinja');
    expect(jinja.status).toBe('unsafe');
  });

  it('leaves ordinary templates and configs without one clean', async () => {
    expect(
      (await scanBytes(Buffer.from(JSON.stringify({ chat_template: chatml })), 'tokenizer_config.json')).findings,
    ).toEqual([]);
    expect((await scanBytes(Buffer.from('{"model_max_length": 512}'), 'tokenizer_config.json')).status).toBe('clean');
    expect(shouldScan('a/tokenizer_config.json', Buffer.from('{'))).toBe(true);
  });
});

describe('SavedModel', () => {
  const FIXTURE = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'scanner', 'malicious');

  it('finds PyFunc in the function library, and calls a cut-off graph malformed', async () => {
    const bytes = await readFile(join(FIXTURE, 'savedmodel_pyfunc', 'saved_model.pb'));
    const full = await scanBytes(bytes, 'saved_model.pb');
    expect(full.status).toBe('unsafe');
    expect(full.findings.map((f) => f.ruleId)).toEqual(['MLBOM-TF-PYFUNC', 'MLBOM-TF-PYFUNC']);
    expect(full.findings[0]?.detail).toContain('function __inference_call_42');

    const cut = await scanBytes(bytes.subarray(0, Math.floor(bytes.length * 0.6)), 'saved_model.pb');
    expect(cut.status).toBe('error');
    expect(cut.findings.map((f) => f.ruleId)).toEqual(['MLBOM-FORMAT-MALFORMED']);
    expect(cut.findings[0]?.detail).toMatch(/^saved_model\.pb cannot be parsed: .*past the end/);
  });
});

describe('scanIfRelevant', () => {
  it('skips what cannot carry code and scans what can, from the name and first bytes', async () => {
    const st = Buffer.alloc(24, 0x20);
    st.writeBigUInt64LE(8n);
    st.write('{"a":1} ', 8);
    expect(await scanIfRelevant(bufferByteSource(st), { path: 'w.safetensors' })).toBeUndefined();
    const result = await scanIfRelevant(bufferByteSource(pickle(SYSTEM_CALL)), { path: 'model.pkl' });
    expect(result?.status).toBe('unsafe');
    expect(result?.findings.map((f) => f.ruleId)).toContain('MLBOM-PICKLE-CRITICAL-GLOBAL');
  });
});
