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
