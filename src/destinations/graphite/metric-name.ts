/**
 * Graphite metric paths (docs/graphite.md, "Metric names"):
 * `[<api-key>.]<prefix>.<client_id>.<source>`, with everything outside
 * `[A-Za-z0-9_.-]` replaced by `_` so no name can break the line format.
 */
export function metricPath(parts: { apiKey?: string; prefix: string; clientId: string; source: string }): string {
  const path = [parts.prefix, parts.clientId, parts.source].filter((p) => p !== '').map(sanitize).join('.');
  return parts.apiKey ? `${sanitize(parts.apiKey)}.${path}` : path;
}

export function sanitize(part: string): string {
  return part.replace(/[^A-Za-z0-9_.-]/g, '_');
}
