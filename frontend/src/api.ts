/** Fetch wrapper for the session-authenticated API (CSRF header on writes). */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: any,
  ) {
    super(`HTTP ${status}: ${body && typeof body === "object" && body.detail ? body.detail : JSON.stringify(body)}`);
  }
}

/** Network failure (no response): the caller may retry. */
export class NetworkError extends Error {}

export function csrfToken(): string {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  const input = document.querySelector<HTMLInputElement>("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

export async function api<T = any>(method: string, url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new NetworkError(String(err));
  }
  const text = await response.text();
  let data: any = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { detail: text.slice(0, 200) };
    }
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data as T;
}

/** All pages of a paginated list. */
export async function apiAll<T>(url: string): Promise<T[]> {
  const out: T[] = [];
  let next: string | null = url;
  while (next) {
    const page: { results: T[]; next: string | null } = await api("GET", next);
    out.push(...page.results);
    next = page.next;
  }
  return out;
}

/** Every item of a list endpoint, paginated or not. */
export async function apiList<T>(url: string): Promise<T[]> {
  const first: any = await api("GET", url);
  if (Array.isArray(first)) return first as T[];
  const out: T[] = [...(first.results ?? [])];
  let next: string | null = first.next ?? null;
  while (next) {
    const page: { results: T[]; next: string | null } = await api("GET", next);
    out.push(...page.results);
    next = page.next;
  }
  return out;
}
