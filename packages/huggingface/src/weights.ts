import { createHash } from 'node:crypto';
import type { ModelFormat, Property } from '@mlbom/core';
import { claimFromName, formatFromClaim } from '@mlbom/formats';
import type { HubModelExtras, HubModelInfo, HubSecurityStatus } from './client.js';
import { securityStatusSchema } from './client.js';

/** Extensions of pickle-based weights, whose content the name does not pin down. */
const PICKLE_EXTENSIONS = ['.bin', '.pt', '.pth', '.ckpt', '.pkl', '.pickle', '.joblib'];

export function isPickleLike(path: string): boolean {
  const lower = path.toLowerCase();
  return PICKLE_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

/** The format a file name stands for (PyTorch names fit several formats: `unknown` until the bytes are read). */
export function formatFromName(path: string): ModelFormat {
  return formatFromClaim(claimFromName(path));
}

/** Properties from the Hub's own reading of the weights (`safetensors` and `gguf` fields). */
export function hubWeightsProperties(info: HubModelInfo, extras: HubModelExtras | undefined): Property[] {
  const properties: Property[] = [];
  const safetensors = info.safetensors;
  const gguf = extras?.gguf;
  const total = safetensors?.total ?? gguf?.total;
  if (total !== undefined) properties.push({ name: 'mlbom:parameterCount', value: String(total) });
  const byDtype = Object.entries(safetensors?.parameters ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (byDtype.length > 0) {
    properties.push({ name: 'mlbom:dtype', value: byDtype.map(([dtype]) => dtype).join(',') });
    for (const [dtype, count] of byDtype) {
      properties.push({ name: `mlbom:parameterCount:${dtype.replace(/[^a-z0-9._-]/gi, '_')}`, value: String(count) });
    }
  }
  if (gguf?.architecture) properties.push({ name: 'mlbom:gguf:architecture', value: gguf.architecture });
  if (gguf?.context_length !== undefined) {
    properties.push({ name: 'mlbom:contextLength', value: String(gguf.context_length) });
  }
  if (gguf?.chat_template) {
    properties.push({
      name: 'mlbom:chatTemplate:sha256',
      value: createHash('sha256').update(gguf.chat_template).digest('hex'),
    });
  }
  return properties;
}

/** The Hub's security scan of a file (`securityFileStatus`), as properties. */
export function securityProperties(raw: unknown): Property[] {
  const parsed = securityStatusSchema.safeParse(raw);
  if (!parsed.success) return [];
  const status: HubSecurityStatus = parsed.data;
  const properties: Property[] = [];
  if (status.status) properties.push({ name: 'mlbom:hf:security:status', value: status.status });
  if (status.avScan?.status) properties.push({ name: 'mlbom:hf:security:av', value: status.avScan.status });
  const pickle = status.pickleImportScan;
  if (pickle?.status) properties.push({ name: 'mlbom:hf:security:pickle', value: pickle.status });
  const flagged = (pickle?.imports ?? [])
    .filter((i) => i.safety && i.safety !== 'innocuous' && (i.module || i.name))
    .map((i) => `${[i.module, i.name].filter(Boolean).join('.')} (${i.safety})`);
  if (flagged.length > 0) {
    properties.push({ name: 'mlbom:hf:security:pickle-imports', value: [...new Set(flagged)].slice(0, 50).join(', ') });
  }
  return properties;
}
