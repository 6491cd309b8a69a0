import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MlbomHttpError } from './errors.js';
import { httpJson, httpRequest, retryAfterMs } from './http.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

describe('httpRequest / httpJson', () => {
  let server: ReturnType<typeof createServer>;
  let base: string;
  let handler: Handler = (_req, res) => res.end();
  const waits: number[] = [];
  const sleep = async (ms: number) => {
    waits.push(ms);
  };

  beforeAll(async () => {
    server = createServer((req, res) => handler(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it('names why a request failed, and does not retry a certificate the client rejects', async () => {
    const failing = (code: string, message: string) => {
      let calls = 0;
      const fetchFails = async () => {
        calls++;
        throw new TypeError('fetch failed', { cause: Object.assign(new Error(message), { code }) });
      };
      return { fetch: fetchFails as typeof fetch, calls: () => calls };
    };
    const tls = failing('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain');
    await expect(httpRequest({ fetch: tls.fetch, url: `${base}/x`, subject: 'thing', sleep })).rejects.toThrow(
      'thing: request to http://127.0.0.1',
    );
    await expect(httpRequest({ fetch: tls.fetch, url: `${base}/x`, subject: 'thing', sleep })).rejects.toThrow(
      /\(fetch failed: SELF_SIGNED_CERT_IN_CHAIN self-signed certificate in certificate chain\)$/,
    );
    expect(tls.calls()).toBe(2);
    const refused = failing('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9');
    await expect(httpRequest({ fetch: refused.fetch, url: `${base}/x`, subject: 'thing', sleep })).rejects.toThrow(
      /\(fetch failed: connect ECONNREFUSED 127.0.0.1:9\)$/,
    );
    expect(refused.calls()).toBe(4);
  });

  it('retries 429 and 5xx, honouring Retry-After, then succeeds', async () => {
    let calls = 0;
    waits.length = 0;
    handler = (_req, res) => {
      calls++;
      if (calls === 1) res.writeHead(429, { 'retry-after': '2' }).end();
      else if (calls === 2) res.writeHead(503).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    };
    const body = await httpJson({ fetch, url: `${base}/x`, subject: 'thing', sleep }, z.object({ ok: z.boolean() }));
    expect(body).toEqual({ ok: true });
    expect(calls).toBe(3);
    expect(waits[0]).toBe(2000);
  });

  it('gives up after the retry budget with the status in the message', async () => {
    handler = (_req, res) => res.writeHead(500).end('{"message":"boom"}');
    await expect(httpRequest({ fetch, url: `${base}/y`, subject: 'model a/b', retries: 2, sleep })).rejects.toThrow(
      'model a/b: HTTP 500',
    );
  });

  it('maps 404 to NOT_FOUND and 401 to AUTH with the hint, never the token', async () => {
    handler = (req, res) =>
      req.url === '/missing'
        ? res.writeHead(404, { 'x-request-id': 'r1' }).end('{"error":"Repository not found"}')
        : res.writeHead(401).end();
    await expect(
      httpRequest({ fetch, url: `${base}/missing`, subject: 'model x/y@main', sleep }),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
      status: 404,
      requestId: 'r1',
      message: expect.stringContaining('Repository not found'),
    });
    const error = await httpRequest({
      fetch,
      url: `${base}/private?token=hf_secret`,
      subject: 'model x/private',
      headers: { authorization: 'Bearer hf_secret' },
      authHint: 'set HF_TOKEN',
      sleep,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(error instanceof MlbomHttpError)) throw new Error(`expected an MlbomHttpError, got ${String(error)}`);
    expect(error.code).toBe('AUTH');
    expect(error.message).toContain('set HF_TOKEN');
    expect(JSON.stringify({ ...error, message: error.message })).not.toContain('hf_secret');
  });

  it('times out a stalled server and reports it', async () => {
    handler = () => {};
    await expect(
      httpRequest({ fetch, url: `${base}/stall`, subject: 'slow thing', timeoutMs: 100, retries: 1, sleep }),
    ).rejects.toThrow(/slow thing: request to .* failed \(timed out\)/);
  });

  it('rejects JSON that does not match the schema, naming the field', async () => {
    handler = (_req, res) => res.writeHead(200).end('{"ok":"yes"}');
    await expect(
      httpJson({ fetch, url: `${base}/z`, subject: 'api', sleep }, z.object({ ok: z.boolean() })),
    ).rejects.toThrow(/at ok/);
  });

  it('parses Retry-After seconds and dates', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(retryAfterMs(null)).toBeUndefined();
  });
});
