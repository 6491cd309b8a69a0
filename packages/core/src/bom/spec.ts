import { Spec } from '@cyclonedx/cyclonedx-library';
import { z } from 'zod';

export const specVersionSchema = z.enum(['1.5', '1.6', '1.7']);
export type SpecVersion = z.infer<typeof specVersionSchema>;
export const DEFAULT_SPEC_VERSION: SpecVersion = '1.6';

export const outputFormatSchema = z.enum(['json', 'xml']);
export type OutputFormat = z.infer<typeof outputFormatSchema>;

const libraryVersion: Record<SpecVersion, Spec.Version> = {
  '1.5': Spec.Version.v1dot5,
  '1.6': Spec.Version.v1dot6,
  '1.7': Spec.Version.v1dot7,
};

export function librarySpec(version: SpecVersion): Spec.Version {
  return libraryVersion[version];
}

/** What each spec version can carry beyond what @cyclonedx/cyclonedx-library models. */
export function specFeatures(version: SpecVersion): {
  tags: boolean;
  occurrenceLine: boolean;
  environmentalConsiderations: boolean;
} {
  const since16 = version !== '1.5';
  return { tags: since16, occurrenceLine: since16, environmentalConsiderations: since16 };
}
