import fs from 'node:fs';
import path from 'node:path';
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import YAML from 'yaml';

/**
 * Checks real HTTP responses against an OpenAPI 3.1 document: the path template and method, then the status
 * (exact, else its `4XX`-style range, else `default`), the documented headers (required ones present, values
 * matching their schemas) and the content type, and the body against the media type's schema with Ajv's JSON
 * Schema 2020-12 validator (the dialect of OpenAPI 3.1) and ajv-formats. Schemas are compiled in place inside
 * the document, so their `$ref`s resolve as the document says.
 */

export const GATEWAY_OPENAPI = path.resolve(
  __dirname,
  '..',
  '..',
  '..',
  'api-gateway',
  'src',
  'http',
  'openapi.yaml',
);

export const SERVICE_OPENAPI = ['flight-service', 'booking-service', 'notification-service'].map((s) =>
  path.resolve(__dirname, '..', '..', '..', s, 'src', 'http', 'openapi.yaml'),
);

type HeaderSource =
  | { entries(): IterableIterator<[string, string]> }
  | Array<[string, string]>
  | Record<string, string | string[] | number | undefined>;

/** One response as a client saw it. */
export interface ObservedResponse {
  method: string;
  /** The request path (with its query), or an absolute URL. */
  url: string;
  status: number;
  headers: HeaderSource;
  /** The body as received; empty or undefined for none. */
  body?: string | Buffer;
  /** The body already parsed as JSON by the caller (instead of `body`). */
  json?: unknown;
}

export interface Mismatch {
  method: string;
  url: string;
  status: number;
  /** `METHOD /path/{template}` (operationId) when the request matched a documented operation. */
  operation?: string;
  problems: string[];
  /** The start of the body, to see what was sent. */
  excerpt: string;
}

export interface ValidatorOptions {
  /**
   * Requests to a path no template matches: `fail` (default) counts them as mismatches; `not-found-problem`
   * accepts them when the answer is a `404` problem (the documented answer to a path that does not exist) whose
   * body matches `#/components/schemas/Problem`.
   */
  unmatchedPaths?: 'fail' | 'not-found-problem';
}

type Json = Record<string, unknown>;

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
/** The OpenAPI root fields: annotations to Ajv, so the document itself can be its schema resource. */
const OPENAPI_ROOT_FIELDS = [
  'openapi',
  'info',
  'jsonSchemaDialect',
  'servers',
  'paths',
  'webhooks',
  'components',
  'security',
  'tags',
  'externalDocs',
];
const DOC_ID = 'urn:skyway:openapi-under-test';

const safeDecode = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};
const escapePointer = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function normaliseHeaders(source: HeaderSource): Map<string, string> {
  const out = new Map<string, string>();
  const entries: Iterable<[string, unknown]> = Array.isArray(source)
    ? source
    : typeof (source as { entries?: unknown }).entries === 'function'
      ? (source as { entries(): IterableIterator<[string, string]> }).entries()
      : Object.entries(source);
  for (const [k, v] of entries) {
    if (v === undefined) continue;
    const value = Array.isArray(v) ? v.join(', ') : String(v);
    const key = k.toLowerCase();
    out.set(key, out.has(key) ? `${out.get(key)}, ${value}` : value);
  }
  return out;
}

const formatAjvErrors = (errors: ErrorObject[] | null | undefined): string =>
  (errors ?? [])
    .map((e) => `${e.instancePath || '(root)'} ${e.message ?? e.keyword}${paramsNote(e)}`)
    .join('; ');

function paramsNote(e: ErrorObject): string {
  if (e.keyword === 'additionalProperties') return ` (${String(e.params.additionalProperty)})`;
  if (e.keyword === 'enum' || e.keyword === 'const')
    return ` (${JSON.stringify(e.params.allowedValues ?? e.params.allowedValue)})`;
  return '';
}

interface Template {
  template: string;
  regex: RegExp;
  params: number;
}

export class OpenApiResponseValidator {
  readonly title: string;
  /** Every mismatch seen by `record`. */
  readonly mismatches: Mismatch[] = [];
  /** How many responses `record` checked. */
  checked = 0;
  /** Documented operations (`METHOD /template`) that `record` saw at least once. */
  readonly exercised = new Set<string>();

  private readonly ajv: Ajv2020;
  private readonly templates: Template[];
  private readonly basePaths: string[];
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(
    private readonly doc: Json,
    private readonly options: ValidatorOptions = {},
  ) {
    if (typeof doc.openapi !== 'string' || !doc.openapi.startsWith('3.1')) {
      throw new Error(`expected an OpenAPI 3.1 document, got openapi: ${String(doc.openapi)}`);
    }
    this.title = String((doc.info as Json | undefined)?.title ?? 'the OpenAPI document');
    // strict: an unknown keyword or a malformed schema in the document is an error, not silently ignored.
    this.ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, validateFormats: true });
    addFormats(this.ajv);
    for (const field of OPENAPI_ROOT_FIELDS) this.ajv.addKeyword(field);
    this.ajv.addSchema({ ...doc, $id: DOC_ID });

    const paths = (doc.paths ?? {}) as Json;
    this.templates = Object.keys(paths)
      .map((template) => {
        const parts = template.split(/(\{[^}]+\})/).filter(Boolean);
        const params = parts.filter((p) => p.startsWith('{')).length;
        const source = parts.map((p) => (p.startsWith('{') ? '([^/]+)' : escapeRegExp(p))).join('');
        return { template, regex: new RegExp(`^${source}$`), params };
      })
      // A literal path wins over a templated one that also matches (OpenAPI's rule).
      .sort((a, b) => a.params - b.params);
    this.basePaths = ((doc.servers as Json[] | undefined) ?? [{ url: '/' }]).map((s) => {
      let url = String(s.url);
      for (const [name, v] of Object.entries((s.variables ?? {}) as Record<string, Json>)) {
        url = url.replace(`{${name}}`, String(v.default));
      }
      const pathname = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? new URL(url).pathname : url;
      return pathname.replace(/\/+$/, '');
    });
  }

  static fromFile(file: string, options?: ValidatorOptions): OpenApiResponseValidator {
    return new OpenApiResponseValidator(YAML.parse(fs.readFileSync(file, 'utf8')) as Json, options);
  }

  /** Compiles every schema the document holds (components and inline), so a broken one fails at once. */
  compileAllSchemas(): number {
    let n = 0;
    const walk = (node: unknown, pointer: string, inSchema: boolean) => {
      if (!node || typeof node !== 'object') return;
      if (inSchema) {
        this.validatorAt(pointer);
        n++;
        return;
      }
      for (const [k, v] of Object.entries(node as Json)) {
        const child = `${pointer}/${escapePointer(k)}`;
        const isSchemaSlot =
          k === 'schema' || (pointer === '/components/schemas' && typeof v === 'object' && v !== null);
        walk(v, child, isSchemaSlot);
      }
    };
    walk(this.doc, '', false);
    return n;
  }

  /** Checks one response and keeps the result (see `mismatches`, `checked`, `report`). */
  record(res: ObservedResponse): Mismatch | undefined {
    this.checked++;
    const mismatch = this.check(res);
    if (mismatch) this.mismatches.push(mismatch);
    return mismatch;
  }

  /** Checks one response; undefined when it matches the document. */
  check(res: ObservedResponse): Mismatch | undefined {
    const method = res.method.toUpperCase();
    const problems: string[] = [];
    const headers = normaliseHeaders(res.headers);
    const text =
      res.body === undefined ? '' : Buffer.isBuffer(res.body) ? res.body.toString('utf8') : res.body;
    const excerpt = (res.json !== undefined ? JSON.stringify(res.json) : text).slice(0, 300);
    const result = (operation?: string): Mismatch | undefined =>
      problems.length
        ? { method, url: res.url, status: res.status, operation, problems, excerpt }
        : undefined;

    // Express routes non-strictly: `/api/v1/payments/` is the operation `/api/v1/payments`.
    const pathname = this.stripBase(new URL(res.url, 'http://client.invalid').pathname).replace(
      /(.)\/$/,
      '$1',
    );
    const match = this.templates.find((t) => t.regex.test(pathname));
    if (!match) {
      if (this.options.unmatchedPaths === 'not-found-problem') {
        this.checkUnmatched(res.status, headers, text, res.json, problems);
      } else {
        problems.push(`no path in the document matches ${pathname}`);
      }
      return result();
    }
    const pathItem = this.resolve(`/paths/${escapePointer(match.template)}`).node;
    const verb = method.toLowerCase();
    const op = HTTP_METHODS.includes(verb) ? (pathItem[verb] as Json | undefined) : undefined;
    let operation = `${method} ${match.template}`;
    if (!op) {
      problems.push(`${method} is not documented for ${match.template}`);
      return result(operation);
    }
    if (op.operationId) operation += ` (${String(op.operationId)})`;
    this.exercised.add(`${method} ${match.template}`);

    const responsesPointer = `/paths/${escapePointer(match.template)}/${verb}/responses`;
    const responses = (op.responses ?? {}) as Json;
    const statusKey = [
      String(res.status),
      `${String(res.status)[0]}XX`,
      `${String(res.status)[0]}xx`,
      'default',
    ].find((k) => k in responses);
    if (!statusKey) {
      problems.push(
        `status ${res.status} is not documented (documented: ${Object.keys(responses).join(', ')})`,
      );
      return result(operation);
    }
    const { node: response, pointer: responsePointer } = this.resolve(
      `${responsesPointer}/${escapePointer(statusKey)}`,
    );
    this.checkHeaders(response, responsePointer, headers, problems);
    this.checkBody(response, responsePointer, headers, text, res.json, problems);
    return result(operation);
  }

  /** One line per mismatch: what was asked, what came back, and everything about it that the document denies. */
  problems(): string[] {
    return this.mismatches.map(
      (m) =>
        `${m.method} ${m.url} → ${m.status}${m.operation ? ` [${m.operation}]` : ''}: ${m.problems.join(' | ')}` +
        (m.excerpt ? `\n      body: ${m.excerpt}` : ''),
    );
  }

  /** A summary: how many responses were checked, which operations they covered, and every mismatch. */
  report(): string {
    const lines = [
      `${this.checked} responses checked against "${this.title}", ${this.mismatches.length} did not match; ` +
        `${this.exercised.size} of ${this.operationCount()} documented operations exercised.`,
      ...this.problems().map((p) => `  - ${p}`),
    ];
    return lines.join('\n');
  }

  operationCount(): number {
    return Object.values((this.doc.paths ?? {}) as Record<string, Json>).reduce(
      (n, item) => n + Object.keys(item).filter((k) => HTTP_METHODS.includes(k)).length,
      0,
    );
  }

  private stripBase(pathname: string): string {
    const base = this.basePaths
      .filter((b) => b && (pathname === b || pathname.startsWith(`${b}/`)))
      .sort((a, b) => b.length - a.length)[0];
    return base ? pathname.slice(base.length) || '/' : pathname;
  }

  /** The node at a JSON pointer of the document, following `$ref`s to where they lead. */
  private resolve(pointer: string): { node: Json; pointer: string } {
    let current = pointer;
    for (let hops = 0; hops < 20; hops++) {
      const node = this.at(current);
      const ref = node?.$ref;
      if (typeof ref !== 'string') return { node: node ?? {}, pointer: current };
      if (!ref.startsWith('#')) throw new Error(`only local $refs are supported, found ${ref} at ${current}`);
      current = ref.slice(1);
    }
    throw new Error(`$ref cycle at ${pointer}`);
  }

  private at(pointer: string): Json | undefined {
    let node: unknown = this.doc;
    for (const raw of pointer.split('/').slice(1)) {
      const key = safeDecode(raw).replace(/~1/g, '/').replace(/~0/g, '~');
      if (!node || typeof node !== 'object') return undefined;
      node = (node as Json)[key];
    }
    return node as Json | undefined;
  }

  private validatorAt(pointer: string): ValidateFunction {
    let fn = this.compiled.get(pointer);
    if (!fn) {
      // The pointer's segments are already ~-escaped; in a URI fragment they are percent-encoded too.
      const ref = `${DOC_ID}#${pointer.split('/').map(encodeURIComponent).join('/')}`;
      fn = this.ajv.getSchema(ref);
      if (!fn) throw new Error(`no schema at ${pointer}`);
      this.compiled.set(pointer, fn);
    }
    return fn;
  }

  private checkHeaders(response: Json, pointer: string, headers: Map<string, string>, problems: string[]) {
    for (const name of Object.keys((response.headers ?? {}) as Json)) {
      // OpenAPI: a Content-Type header definition is ignored (the content map says it).
      if (name.toLowerCase() === 'content-type') continue;
      const { node: header, pointer: headerPointer } = this.resolve(
        `${pointer}/headers/${escapePointer(name)}`,
      );
      const value = headers.get(name.toLowerCase());
      if (value === undefined) {
        if (header.required === true) problems.push(`required header ${name} is missing`);
        continue;
      }
      if (!header.schema) continue;
      const validate = this.validatorAt(`${headerPointer}/schema`);
      const type = (this.resolve(`${headerPointer}/schema`).node.type ?? 'string') as string;
      const typed =
        (type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(value)
          ? Number(value)
          : type === 'boolean' && (value === 'true' || value === 'false')
            ? value === 'true'
            : value;
      if (!validate(typed))
        problems.push(`header ${name}: ${JSON.stringify(value)} ${formatAjvErrors(validate.errors)}`);
    }
  }

  private checkBody(
    response: Json,
    pointer: string,
    headers: Map<string, string>,
    text: string,
    json: unknown,
    problems: string[],
  ) {
    const hasBody = json !== undefined || text.length > 0;
    const content = response.content as Json | undefined;
    const contentType = headers.get('content-type');
    if (!content || Object.keys(content).length === 0) {
      if (hasBody) {
        problems.push(
          `documented without a body, got ${contentType ?? 'a body'} (${text.length || 'parsed'} bytes)`,
        );
      }
      return;
    }
    const documented = Object.keys(content);
    if (!contentType) {
      problems.push(`no Content-Type (documented: ${documented.join(', ')})${hasBody ? '' : ' and no body'}`);
      return;
    }
    const mediaType = contentType.split(';')[0].trim().toLowerCase();
    const key =
      documented.find((k) => k.toLowerCase() === mediaType) ??
      documented.find((k) => k.toLowerCase() === `${mediaType.split('/')[0]}/*`) ??
      documented.find((k) => k === '*/*');
    if (!key) {
      problems.push(`content type ${mediaType} is not documented (documented: ${documented.join(', ')})`);
      return;
    }
    const media = (content[key] ?? {}) as Json;
    if (!media.schema) return;
    const isJson = mediaType === 'application/json' || mediaType.endsWith('+json');
    let value: unknown = json;
    if (value === undefined) {
      if (!isJson) value = text;
      else {
        try {
          value = JSON.parse(text);
        } catch {
          problems.push(`the ${mediaType} body is not JSON`);
          return;
        }
      }
    }
    const validate = this.validatorAt(`${pointer}/content/${escapePointer(key)}/schema`);
    if (!validate(value)) problems.push(`body: ${formatAjvErrors(validate.errors)}`);
  }

  private checkUnmatched(
    status: number,
    headers: Map<string, string>,
    text: string,
    json: unknown,
    problems: string[],
  ) {
    if (status !== 404) {
      problems.push(
        `no path in the document matches, and the answer is ${status}, not the 404 of a missing route`,
      );
      return;
    }
    const mediaType = headers.get('content-type')?.split(';')[0].trim().toLowerCase();
    if (mediaType !== 'application/problem+json') {
      problems.push(`a 404 for a path the document lacks must be application/problem+json, got ${mediaType}`);
      return;
    }
    if (!this.at('/components/schemas/Problem')) return;
    let value = json;
    try {
      value ??= JSON.parse(text);
    } catch {
      problems.push('the problem body is not JSON');
      return;
    }
    const validate = this.validatorAt('/components/schemas/Problem');
    if (!validate(value)) problems.push(`body: ${formatAjvErrors(validate.errors)}`);
  }
}
