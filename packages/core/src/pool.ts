/**
 * Runs `fn` over `items` with at most `limit` calls in flight and returns the results in input order.
 * On the first rejection no new item is started; the rejection is rethrown once the calls already
 * in flight have settled, so nothing (an open file, say) outlives the call.
 */
export async function mapPool<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined) {
      const index = next++;
      if (index >= items.length) return;
      try {
        results[index] = await fn(items[index] as T, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  const workers = Math.max(1, Math.min(Math.floor(limit) || 1, items.length));
  await Promise.all(Array.from({ length: workers }, worker));
  if (failure !== undefined) throw failure.error;
  return results;
}

/**
 * A gate that lets at most `limit` calls of `run` be in flight across all callers, for work whose
 * cost is per call rather than per item (a parser worker with its own heap, say).
 */
export function createLimiter(limit: number): <R>(fn: () => Promise<R>) => Promise<R> {
  const slots = Math.max(1, Math.floor(limit) || 1);
  let active = 0;
  const waiting: Array<() => void> = [];
  return async (fn) => {
    if (active >= slots) await new Promise<void>((resolve) => waiting.push(resolve));
    else active++;
    try {
      return await fn();
    } finally {
      // Hand the slot straight to the next waiter, or free it.
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}
