// Calls to the daemon's API, same origin only; errors carry the problem details the API sends.

import { signIn } from "./signin.js";

export const API = "/api/v1";

export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.title)) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.code;
  }
}

/** The URL of an API path with query parameters; empty values are left out, arrays repeat the key. */
export function apiUrl(path, params = {}) {
  const url = new URL(API + path, location.origin);
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "") continue;
    for (const one of Array.isArray(value) ? value : [value]) url.searchParams.append(key, String(one));
  }
  return url.pathname + url.search;
}

/** One JSON request; `json` is sent as a JSON body, `form` as multipart. Refused for want of the API key,
 *  it asks for the key and, once signed in, sends the request again. */
export async function api(path, { method = "GET", params, json, form, signal } = {}) {
  const init = { method, signal, headers: { Accept: "application/json" } };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  } else if (form !== undefined) {
    init.body = form;
  }
  for (;;) {
    const response = await fetch(apiUrl(path, params), init);
    const type = response.headers.get("content-type") || "";
    const body = type.includes("json") ? await response.json() : null;
    if (response.ok) return body;
    const error = new ApiError(response.status, body);
    if (error.code !== "ERR_UNAUTHORIZED" || !(await signIn())) throw error;
  }
}
