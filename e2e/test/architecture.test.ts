import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';

/**
 * The shape inside every service stays (ARCHITECTURE.md): imports point downwards (the layer rules in
 * eslint.layers.mjs, part of `npm run lint`), and SQL text lives only in src/db/.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const SERVICES = ['api-gateway', 'flight-service', 'booking-service', 'notification-service'];

/** Lints `code` as if it were the file `file` (relative to the repository), with the repository's config. */
function lint(file: string, code: string) {
  const eslint = path.join(ROOT, 'node_modules', '.bin', 'eslint');
  const run = spawnSync(eslint, ['--stdin', '--stdin-filename', file, '--format', 'json'], {
    cwd: ROOT,
    input: code,
    encoding: 'utf8',
  });
  const [report] = JSON.parse(run.stdout) as Array<{
    messages: Array<{ ruleId: string | null; message: string }>;
  }>;
  return report.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('the layer rules catch an import that points the wrong way', () => {
  test('domain/ may import neither a store, a framework nor an HTTP error', () => {
    const messages = lint(
      'booking-service/src/domain/example.ts',
      [
        "import type { Sequelize } from 'sequelize';",
        "import { HttpProblem } from '@skyway/common';",
        "import { something } from '../db/bookings-store';",
        "import { other } from '../http/routes';",
        'export const x = [something, other, HttpProblem] as unknown as Sequelize;',
        '',
      ].join('\n'),
    );
    expect(messages).toHaveLength(4);
    expect(messages.join('\n')).toMatch(/sequelize/);
    expect(messages.join('\n')).toMatch(/HttpProblem/);
    expect(messages.join('\n')).toMatch(/src\/domain\/ may not import src\/db\//);
    expect(messages.join('\n')).toMatch(/src\/domain\/ may not import src\/http\//);
  }, 60_000);

  test('http/ may not reach a store; db/ may not reach a use case; app/ may call both downwards', () => {
    expect(
      lint('flight-service/src/http/x.ts', "export { a } from '../db/reservations-store';\n"),
    ).toHaveLength(1);
    expect(lint('notification-service/src/db/x.ts', "export { a } from '../app/deliver';\n")).toHaveLength(1);
    expect(
      lint(
        'booking-service/src/app/x.ts',
        "export { a } from '../db/bookings-store';\nexport { b } from '../domain/booking';\n",
      ),
    ).toEqual([]);
  }, 60_000);
});

/** Every TypeScript file under a service's src/, but its db/ folder. */
function sourceFilesOutsideDb(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'db') walk(p);
      } else if (entry.name.endsWith('.ts')) out.push(p);
    }
  };
  for (const s of SERVICES) walk(path.join(ROOT, s, 'src'));
  return out;
}

const SQL =
  /\b(SELECT\s[\s\S]*\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|START\s+TRANSACTION|FOR\s+UPDATE)\b/i;

/** The text of every string and template literal in a file (comments are not strings). */
function literals(file: string): string[] {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) found.push(node.text);
    else if (ts.isTemplateExpression(node)) {
      found.push([node.head.text, ...node.templateSpans.map((span) => span.literal.text)].join(' ? '));
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

test('no SQL text outside src/db/ in any service', () => {
  const offenders = sourceFilesOutsideDb().flatMap((file) =>
    literals(file)
      .filter((text) => SQL.test(text))
      .map((text) => `${path.relative(ROOT, file)}: ${text.trim().slice(0, 60)}`),
  );
  expect(offenders).toEqual([]);
});

test('the SQL check sees SQL in a template literal and ignores it in a comment', () => {
  const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'skyway-sql-')), 'x.ts');
  try {
    fs.writeFileSync(
      tmp,
      '// SELECT id FROM bookings FOR UPDATE\nconst id = 1;\nexport const q = `SELECT * FROM t WHERE id = ${id}`;\n',
    );
    expect(literals(tmp).filter((t) => SQL.test(t))).toHaveLength(1);
  } finally {
    fs.rmSync(path.dirname(tmp), { recursive: true, force: true });
  }
});

const TOWERS = ['common', ...SERVICES, 'e2e'];
const WORKSPACE_NAMES = new Set(SERVICES);

/** Every module specifier a file imports, re-exports, requires or imports dynamically. */
function specifiers(file: string): string[] {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier)) found.push(node.moduleSpecifier.text);
    } else if (
      ts.isCallExpression(node) &&
      node.arguments.length === 1 &&
      ts.isStringLiteral(node.arguments[0]!)
    ) {
      const callee = node.expression;
      if (
        callee.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(callee) && callee.text === 'require')
      ) {
        found.push(node.arguments[0].text);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The imports of `file` (in tower `tower`) that reach into another tower other than through the test kit. */
function crossings(file: string, tower: string): string[] {
  return specifiers(file).filter((spec) => {
    if (WORKSPACE_NAMES.has(spec.split('/')[0]!)) return true; // a service's package name
    if (!spec.startsWith('.')) return false; // a library, @skyway/common or @skyway/testkit
    const target = path.relative(ROOT, path.resolve(path.dirname(file), spec)).split(path.sep)[0];
    return target !== tower;
  });
}

function testFiles(tower: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    if (!fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name.endsWith('.ts')) out.push(p);
    }
  };
  walk(path.join(ROOT, tower, 'test'));
  return out;
}

test('no test imports another workspace except through @skyway/testkit', () => {
  const offenders = TOWERS.flatMap((tower) =>
    testFiles(tower).flatMap((file) =>
      crossings(file, tower).map((spec) => `${path.relative(ROOT, file)}: ${spec}`),
    ),
  );
  expect(offenders).toEqual([]);
});

test('the crossing check sees a relative import, a require and a package name, and lets the kit through', () => {
  const dir = fs.mkdtempSync(path.join(ROOT, 'booking-service', 'test', 'tmp-arch-'));
  const file = path.join(dir, 'x.test.ts');
  try {
    fs.writeFileSync(
      file,
      [
        "import { startFlightService } from '../../../flight-service/src/main';",
        "import { FaultProxy } from '@skyway/testkit';",
        "import { eventually } from '@skyway/common/testing';",
        "import { loadConfig } from '../../src/config';",
        "const cfg = require('api-gateway/dist/config');",
        'export { startFlightService, FaultProxy, eventually, loadConfig, cfg };',
        '',
      ].join('\n'),
    );
    expect(crossings(file, 'booking-service')).toEqual([
      '../../../flight-service/src/main',
      'api-gateway/dist/config',
    ]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
