import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferByteSource, fileByteSource, httpByteSource, MAX_READ_BYTES, redactUrl } from './bytes.js';

const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));

describe('byte sources', () => {
  let dir: string;
  let server: ReturnType<typeof createServer>;
  let base: string;
  let ranges: string[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mlbom-bytes-'));
    await writeFile(join(dir, 'f.bin'), data);
    ranges = [];
    server = createServer((req, res) => {
      const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      if (req.url === '/no-range' || !range) {
        res.writeHead(200, { 'content-length': data.length });
        res.end(data);
        return;
      }
      ranges.push(req.headers.range ?? '');
      const start = Number(range[1]);
      const end = Math.min(Number(range[2]), data.length - 1);
      res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${data.length}` });
      res.end(data.subarray(start, end + 1));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the same bytes from a buffer, a file and HTTP ranges, and counts them', async () => {
    const sources = [
      bufferByteSource(data),
      await fileByteSource(join(dir, 'f.bin')),
      httpByteSource({ url: `${base}/f.bin`, size: data.length }),
    ];
    for (const source of sources) {
      expect(source.size).toBe(1000);
      expect(Buffer.from(await source.read(10, 20))).toEqual(data.subarray(10, 30));
      expect(Buffer.from(await source.read(990, 50))).toEqual(data.subarray(990));
      expect(source.bytesRead).toBe(30);
      await source.close();
    }
    expect(ranges).toEqual(['bytes=10-29', 'bytes=990-999']);
  });

  it('refuses reads beyond the allocation bound and bad offsets', async () => {
    const source = bufferByteSource(data);
    await expect(source.read(0, MAX_READ_BYTES + 1)).rejects.toThrow(/refusing/);
    await expect(source.read(-1, 1)).rejects.toThrow(/invalid read/);
  });

  it('keeps only the asked range when a small server ignores Range', async () => {
    const source = httpByteSource({ url: `${base}/no-range`, size: data.length });
    expect(Buffer.from(await source.read(5, 5))).toEqual(data.subarray(5, 10));
  });

  it('names a missing file', async () => {
    await expect(fileByteSource(join(dir, 'nope'))).rejects.toThrow(/nope: no such file/);
  });

  it('redacts credentials and query strings from URLs', () => {
    expect(redactUrl('https://user:secret@host/path?token=abc')).toBe('https://host/path');
  });
});
