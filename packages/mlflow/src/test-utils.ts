// Helpers for this package's tests (excluded from the build).
import { defaultContext, type Inventory, inventorySchema, type ParsedInventory, type SourceContext } from '@mlbom/core';
import { fixtureStore } from '../../../test/fakes/mlflow/server.js';

export { type FakeMlflow, fixtureStore, startFakeMlflow } from '../../../test/fakes/mlflow/server.js';

export const R1 = '1f5a2c3d4e5f60718293a4b5c6d7e8f9';
export const R2 = '2a6b7c8d9e0f41a2b3c4d5e6f7a8b9c0';
export const R3 = '3c7d8e9f0a1b42c3d4e5f6a7b8c9d0e1';
export const R4 = '4d8e9f0a1b2c43d4e5f6a7b8c9d0e1f2';
export const R5 = '5e9f0a1b2c3d44e5f6a7b8c9d0e1f2a3';
export const M1 = 'm-6a0b1c2d3e4f45a6b7c8d9e0f1a2b3c4';
/** An MLflow 3 logged model that no registered version covers. */
export const M2 = 'm-7c2d3e4f5a6b47c8d9e0f1a2b3c4d5e6';
export const store = fixtureStore;

/** A context whose logger records every message. */
export function recordingContext(overrides: Partial<SourceContext> = {}) {
  const messages: Array<{ level: string; message: string }> = [];
  const log = (level: string) => (message: string) => messages.push({ level, message });
  const ctx = defaultContext({
    logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    ...overrides,
  });
  return { ctx, messages };
}

export function parse(inventory: Inventory): ParsedInventory {
  return inventorySchema.parse(inventory);
}

export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (e: unknown) => e,
  );
}

export const propertyOf = (item: { properties: Array<{ name: string; value: string }> }, name: string) =>
  item.properties.find((p) => p.name === name)?.value;
export const propertiesOf = (item: { properties: Array<{ name: string; value: string }> }, name: string) =>
  item.properties.filter((p) => p.name === name).map((p) => p.value);
