/** Shapes of the API's JSON (see /api/schema/). */
import type { Geometry } from "./sphere";

export type Role = "admin" | "manager" | "annotator" | "reviewer" | "viewer" | null;

export interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

export interface Project {
  id: number;
  name: string;
  description: string;
  default_fov: number;
  role: Role;
  panorama_count?: number;
}

export interface LabelClass {
  id: number;
  project: number;
  name: string;
  color: string;
  order: number;
  is_ignore: boolean;
  is_group: boolean;
  instance_count?: number;
  /** Key that picks the class in the workspace ("" = none; 1–9 pick by position). */
  shortcut?: string;
  /** Per-instance attributes of this class: [{name, type: bool|str|enum, options?}]. */
  attribute_schema?: { name: string; type: "bool" | "str" | "enum"; options?: string[] }[];
}

export interface Tiles {
  size: number;
  cols: number;
  rows: number;
  url_template: string;
}

export interface Panorama {
  id: number;
  project: number;
  original_name: string;
  width: number;
  height: number;
  status: string;
  assignees: string[];
  revision: number;
  instance_count?: number;
  display_url: string;
  thumbnail_url: string;
  tiles: Tiles;
  is_hdr?: boolean;
  /** Whether the signed-in user may write the annotations now (role and workflow state). */
  can_edit?: boolean;
  /** Why the workflow state keeps the user from editing (null when it does not). */
  edit_lock?: string | null;
}

/** One instance as the server stores it (bulk-save item shape). */
export interface InstanceData {
  id?: number | null;
  label_class: number;
  geometry: Geometry;
  source: string;
  is_suggestion: boolean;
  score?: number | null;
  model_version?: string;
  attributes?: Record<string, unknown>;
}

export interface InstancesResponse {
  revision: number;
  instances: InstanceData[];
}

export interface ReviewEvent {
  id: number;
  username: string | null;
  action: string;
  comment: string;
  revision: number;
  created_at: string;
}

/** A file derived from a panorama (GET /api/assets/?panorama=ID&kind=depth). */
export interface DerivedAsset {
  id: number;
  panorama: number;
  job: number | null;
  kind: string;
  params: Record<string, unknown>;
  version: number;
  size_bytes: number;
  created_at: string;
  download_url: string;
}

/** An export of a project (GET /api/exports/ID/, docs/datasets.md). */
export interface ExportJob {
  status: string;
  progress: number;
  message: string;
  error: string;
}

export interface DatasetExport {
  id: number;
  project: number;
  format: "coco" | "coco_views" | "png" | "label360";
  options: Record<string, any>;
  digest: string;
  status: "pending" | "running" | "ready" | "failed";
  size_bytes: number;
  summary: Record<string, any>;
  error: string;
  job_id: number | null;
  job: ExportJob | null;
  download_url: string | null;
  created_at: string;
  finished_at: string | null;
  cached?: boolean;
}

/** An annotator-agreement round and its report (datasets/agreement.py). */
export interface AgreementRound {
  id: number;
  project: number;
  name: string;
  panoramas: number[];
  annotators: number[];
  iou_threshold: number;
  created_by: number | null;
  created_at: string;
}

export interface AgreementTotals {
  iou: number | null;
  intersection_sr: number;
  union_sr: number;
  matched: number;
  unmatched_a: number;
  unmatched_b: number;
  mean_matched_iou: number | null;
}

export interface Disagreement {
  panorama: number;
  class: string;
  kind: "low_iou" | "only_in_a" | "only_in_b";
  a_index: number | null;
  b_index: number | null;
  iou: number;
}

export interface AgreementPair {
  a: string;
  b: string;
  overall: AgreementTotals;
  classes: Record<string, AgreementTotals>;
  disagreements: Disagreement[];
}

export interface AgreementReport {
  threshold: number;
  annotators: string[];
  reference: string | null;
  panoramas: number[];
  overall: AgreementTotals;
  classes: Record<string, AgreementTotals>;
  pairs: AgreementPair[];
}

export interface Replica {
  id: number;
  round: number;
  panorama: number;
  annotator: number;
  instances: unknown[];
  submitted: boolean;
  revision: number;
  updated_at: string;
}

export interface Member {
  id: number;
  username: string;
  role: string;
}
