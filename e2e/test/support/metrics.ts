import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

/** One sample of Prometheus' text exposition format. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the samples of a `/metrics` text (comments skipped; label values unescaped). */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\(.)/g, '$1');
    }
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

/** Label names whose values are numbers by design (buckets, quantiles, status codes, Node's version parts). */
const NUMERIC_LABELS = new Set(['le', 'quantile', 'status', 'major', 'minor', 'patch']);
const DIGIT_SEGMENT = /(^|\/)\d+(\/|$)/;
const ID_LIKE = /[0-9a-f]{8}-[0-9a-f]{4}-|[0-9a-f]{16,}|\d{3,}/i;

/**
 * Label values that carry an id or a raw path: a digit-only path segment, something id-like (a uuid, a long hex
 * string, a run of 3+ digits), or a path that is not a route template. Returned as `metric{label="value"}`.
 */
export function unboundedLabels(samples: Sample[]): string[] {
  const bad = new Set<string>();
  for (const s of samples) {
    for (const [k, v] of Object.entries(s.labels)) {
      if (NUMERIC_LABELS.has(k) || k === 'version') continue;
      const template =
        k === 'route' && v !== 'unmatched' && !/^(\/([A-Za-z][A-Za-z0-9._-]*|:[A-Za-z]+))+$/.test(v);
      if (DIGIT_SEGMENT.test(v) || ID_LIKE.test(v) || template) bad.add(`${s.name}{${k}="${v}"}`);
    }
  }
  return [...bad];
}

const PROMQL_WORDS = new Set([
  'sum',
  'max',
  'min',
  'avg',
  'count',
  'rate',
  'irate',
  'increase',
  'histogram_quantile',
  'by',
  'without',
  'and',
  'or',
  'unless',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'clamp_min',
]);

/** The metric names a PromQL expression reads (label matchers, grouping labels, ranges and strings dropped). */
export function metricNamesIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '');
  return [...bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)]
    .map((m) => m[0])
    .filter((w) => (!PROMQL_WORDS.has(w) && /_/.test(w)) || w === 'up');
}

const DEPLOY = path.resolve(__dirname, '..', '..', '..', 'deploy');

/** Every PromQL expression of the Grafana dashboard and of the Prometheus alerting rules. */
export function dashboardExpressions(): string[] {
  const dashboard = JSON.parse(fs.readFileSync(path.join(DEPLOY, 'grafana/dashboards/skyway.json'), 'utf8'));
  const alerts = YAML.parse(fs.readFileSync(path.join(DEPLOY, 'prometheus/alerts.yml'), 'utf8'));
  return [
    ...dashboard.panels.flatMap((p: { targets: Array<{ expr: string }> }) => p.targets.map((t) => t.expr)),
    ...alerts.groups.flatMap((g: { rules: Array<{ expr: string }> }) => g.rules.map((r) => r.expr)),
  ];
}
