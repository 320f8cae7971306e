import type { AttributionMethod } from './types';

/** Every attribution method, in the order the UI and `--help` list them. */
export const ATTRIBUTION_METHODS: AttributionMethod<any>[] = [];

export function getMethod(id: string): AttributionMethod<any> | undefined {
  return ATTRIBUTION_METHODS.find((m) => m.id === id);
}
