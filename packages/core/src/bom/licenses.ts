import { Models, SPDX } from '@cyclonedx/cyclonedx-library';
import parseSpdxExpression from 'spdx-expression-parse';
import type { LicenseAsset } from '../assets.js';

function isCompoundExpression(value: string): boolean {
  if (!/\s(AND|OR|WITH)\s/.test(value)) return false;
  try {
    parseSpdxExpression(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * A valid SPDX id becomes `license.id`, a valid compound SPDX expression becomes `expression`
 * (only when it is the sole license, as CycloneDX requires), anything else a named license.
 */
export function toLicenses(assets: LicenseAsset[]): Models.License[] {
  const onlyOne = assets.length === 1;
  return assets.map(({ value, url }) => {
    const spdxId = SPDX.fixupSpdxId(value);
    const urlOption = url ? { url } : {};
    if (spdxId !== undefined) return new Models.SpdxLicense(spdxId, urlOption);
    if (onlyOne && isCompoundExpression(value)) return new Models.LicenseExpression(value);
    return new Models.NamedLicense(value, urlOption);
  });
}
