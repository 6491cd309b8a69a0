// The model-card parser lives in @mlbom/formats; re-exported here for existing importers.
export {
  type BaseModelRef,
  cardRelations,
  FRONT_MATTER_RE,
  type FrontMatterSplit,
  huggingFaceAncestor,
  huggingFaceDataset,
  isHubId,
  type ModelCardInfo,
  parseModelCard,
  splitFrontMatter,
} from '@mlbom/formats';
