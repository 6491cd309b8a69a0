// The requirements parser lives in @mlbom/formats; re-exported here for existing importers.
export {
  parseRequirements,
  type Requirement,
  type RequirementsFile,
  redactUrl,
  requirementPackages,
} from '@mlbom/formats';
