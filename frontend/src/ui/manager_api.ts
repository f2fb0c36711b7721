/** Shapes and calls of the API the manager pages use (projects, classes, members, assignment,
 * uploads, jobs, dashboard); see docs/ui.md. */
import { ApiError } from "../api";

export type AttrType = "bool" | "str" | "enum";

export interface AttributeSpec {
  name: string;
  type: AttrType;
  options?: string[];
  default?: unknown;
}

export interface ManagedProject {
  id: number;
  name: string;
  description: string;
  default_fov: number;
  role: string | null;
  panorama_count?: number;
  archived: boolean;
  archived_at: string | null;
  created_at: string;
}

export interface ManagedClass {
  id: number;
  project: number;
  name: string;
  color: string;
  order: number;
  is_ignore: boolean;
  is_group: boolean;
  shortcut: string;
  attribute_schema: AttributeSpec[];
  instance_count?: number;
}

export interface Membership {
  id: number;
  project: number;
  username: string;
  role: string;
  created_at: string;
}

export interface UserHit {
  id: number;
  username: string;
  first_name: string;
  last_name: string;
}

export interface DeletionSummary {
  project: number;
  name: string;
  items: { model: string; label: string; count: number }[];
  image_bytes: number;
}

export interface JobKindField {
  name: string;
  label: string;
  type: "int" | "float" | "bool" | "choice" | "str";
  required: boolean;
  initial: unknown;
  help: string;
  min?: number | null;
  max?: number | null;
  choices?: [string, string][];
}

export interface JobKind {
  name: string;
  label: string;
  description: string;
  queue: string;
  per_panorama: boolean;
  targets: string[];
  fields: JobKindField[];
}

export interface Job {
  id: number;
  kind: string;
  project: number | null;
  panoramas: number[];
  params: Record<string, unknown>;
  status: "queued" | "running" | "succeeded" | "failed" | "cancelled" | string;
  progress: number;
  message: string;
  error: string;
  result: Record<string, unknown> | null;
  created_at: string;
  finished_at: string | null;
  requester: string | null;
  cancel_requested: boolean;
  assets: { id: number; kind: string; panorama: number; url: string }[];
}

export interface AnnotatorStats {
  username: string;
  role: string | null;
  assigned: number;
  done: number;
  approved: number;
  instances: number;
  active_seconds: number;
  submissions: number;
  rejections: number;
  rejection_rate: number | null;
}

export interface Dashboard {
  project: number;
  panoramas: number;
  done: number;
  instances: number;
  suggestions: number;
  statuses: { status: string; label: string; count: number }[];
  classes: { id: number; name: string; color: string; instances: number; suggestions: number; panoramas: number }[];
  annotators: AnnotatorStats[];
  active: {
    total_seconds: number;
    done_panoramas_timed: number;
    mean_seconds_per_done_panorama: number | null;
    done_panorama_seconds: number[];
    per_day: { day: string; seconds: number }[];
  };
}

/** A readable message from an API error body (DRF: detail, field lists, nested objects). */
export function errorText(err: unknown): string {
  if (err instanceof ApiError && err.body && typeof err.body === "object") {
    if (typeof err.body.detail === "string") return err.body.detail;
    return flatten(err.body).join("; ");
  }
  return String((err as Error)?.message || err);
}

function flatten(value: unknown, prefix = ""): string[] {
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v !== "object" || v === null)) return [`${prefix}${value.join(" ")}`];
    return value.flatMap((v, k) => flatten(v, `${prefix}${k + 1}: `));
  }
  if (value && typeof value === "object") {
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => flatten(v, prefix ? `${prefix}${k} ` : `${k}: `));
  }
  return [`${prefix}${String(value)}`];
}

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60 ? `${s % 60} s` : ""}`.trim();
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
