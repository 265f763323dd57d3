import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler, type IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job, type IJob } from 'kubernetes-models/batch/v1';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { type IPodDisruptionBudget, PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import {
  ConfigMap,
  type IConfigMap,
  type IContainer,
  type IPodSpec,
  type ISecret,
  type IService,
  Namespace,
  Secret,
  Service,
} from 'kubernetes-models/v1';
import { gatewayConfig, bookingConfig, flightConfig, notificationConfig } from '@skyway/testkit';

/**
 * deploy/k8s is a deliverable no cluster runs here: every manifest is checked offline against the Kubernetes API
 * schemas that kubernetes-models ships (compiled JSON-schema validators), then against the contract's rules
 * (CONTRACT.md, "Beyond one machine" → Orchestration) and each service's own production configuration validation.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const K8S = path.join(ROOT, 'deploy', 'k8s');

type Obj = Record<string, unknown> & {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
};
type Doc = { file: string; obj: Obj };

/** The kinds the manifests may use, each with its schema-validating model (apiVersion/kind → model). */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'networking.k8s.io/v1/Ingress': Ingress,
};

const APPS = {
  'api-gateway': { loadConfig: gatewayConfig, portVar: 'GATEWAY_PORT' },
  'flight-service': { loadConfig: flightConfig, portVar: 'FLIGHT_SERVICE_PORT' },
  'booking-service': { loadConfig: bookingConfig, portVar: 'BOOKING_SERVICE_PORT' },
  'notification-service': { loadConfig: notificationConfig, portVar: 'NOTIFICATION_SERVICE_PORT' },
} as const;
type AppName = keyof typeof APPS;
const APP_NAMES = Object.keys(APPS) as AppName[];

/** Variables that are secrets: never in a ConfigMap nor as a literal `value`, always from a Secret. */
const SECRET_VARS = [
  'JWT_SECRET',
  'INTERNAL_TOKEN',
  'ADMIN_PASSWORD',
  'DB_USER',
  'DB_PASSWORD',
  'AMQP_URL',
  'REDIS_URL',
  'SMTP_URL',
];
/** Which secrets each service must get from a Secret (the contract's list, plus what each one reads). */
const REQUIRED_SECRETS: Record<AppName, string[]> = {
  'api-gateway': ['JWT_SECRET', 'INTERNAL_TOKEN', 'ADMIN_PASSWORD', 'DB_PASSWORD'],
  'flight-service': ['INTERNAL_TOKEN', 'DB_PASSWORD'],
  'booking-service': ['INTERNAL_TOKEN', 'DB_PASSWORD', 'AMQP_URL'],
  'notification-service': ['INTERNAL_TOKEN', 'DB_PASSWORD', 'AMQP_URL'],
};

function yamlFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory()
        ? yamlFiles(path.join(dir, e.name))
        : /\.ya?ml$/.test(e.name)
          ? [path.join(dir, e.name)]
          : [],
    )
    .sort();
}

function parseAll(file: string): Obj[] {
  return YAML.parseAllDocuments(fs.readFileSync(file, 'utf8')).map((d) => {
    if (d.errors.length) throw new Error(`${file}: ${d.errors[0].message}`);
    return d.toJS() as Obj;
  });
}

const isKustomization = (o: Obj) => o.kind === 'Kustomization';
const files = yamlFiles(K8S);
const docs: Doc[] = files.flatMap((file) =>
  parseAll(file)
    .filter((obj) => obj !== null)
    .map((obj) => ({ file: path.relative(K8S, file), obj })),
);
const manifests = docs.filter((d) => !isKustomization(d.obj));

/** Throws with the schema's message when `obj` is not a valid object of its apiVersion/kind. */
function validateObject(obj: Obj): void {
  const Model = MODELS[`${obj.apiVersion}/${obj.kind}`];
  if (!Model) throw new Error(`no schema for ${obj.apiVersion} ${obj.kind}`);
  new Model(obj as never).validate();
}

const clone = <T>(v: T): T => structuredClone(v);

/** Kubernetes quantities as numbers: cores for CPU ("250m", "1"), bytes for memory ("192Mi", "1G"). */
function quantity(q: string | number | undefined): number {
  if (q === undefined) return NaN;
  const m = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(q));
  if (!m) return NaN;
  const units: Record<string, number> = {
    m: 1e-3,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  };
  return Number(m[1]) * (m[2] ? units[m[2]] : 1);
}

/** How long each service may take to shut down after SIGTERM: serveMain's argument, else onShutdown's default. */
function shutdownSeconds(app: AppName): number {
  const main = fs.readFileSync(path.join(ROOT, app, 'src', 'main.ts'), 'utf8');
  const server = fs.readFileSync(path.join(ROOT, 'common', 'src', 'server.ts'), 'utf8');
  const explicit = /serveMain\(\s*'[^']+',\s*\(\)\s*=>\s*\w+\(\)\s*,\s*([\d_]+)\s*\)/.exec(main)?.[1];
  const fallback = /timeoutMs\s*=\s*([\d_]+)/.exec(server)?.[1];
  const ms = Number((explicit ?? fallback ?? 'NaN').replace(/_/g, ''));
  if (!Number.isFinite(ms)) throw new Error(`cannot read ${app}'s shutdown timeout`);
  return ms / 1000;
}

/** A ConfigMap's or Secret's key/value maps (a Secret's `data` is base64). */
type EnvSource = { data?: Record<string, string>; stringData?: Record<string, string> };

/** The environment a container gets: its ConfigMaps (envFrom and configMapKeyRef) and Secrets, as the kubelet builds it. */
function containerEnv(container: IContainer, objects: Obj[]): Record<string, string> {
  const byName = (kind: string, name: string) =>
    objects.find((o) => o.kind === kind && o.metadata?.name === name) as EnvSource | undefined;
  const secretData = (s: EnvSource): Record<string, string> => ({
    ...Object.fromEntries(
      Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
    ),
    ...(s.stringData ?? {}),
  });
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    const source = ref?.name ? byName(from.configMapRef ? 'ConfigMap' : 'Secret', ref.name) : undefined;
    if (!source) {
      if (ref?.optional) continue;
      throw new Error(`${container.name}: envFrom ${ref?.name} does not exist`);
    }
    const data = from.configMapRef ? (source.data ?? {}) : secretData(source);
    for (const [k, v] of Object.entries(data)) env[`${from.prefix ?? ''}${k}`] = v;
  }
  for (const e of container.env ?? []) {
    if (e.value !== undefined) {
      env[e.name] = e.value;
      continue;
    }
    const ref = e.valueFrom?.secretKeyRef ?? e.valueFrom?.configMapKeyRef;
    if (!ref) continue;
    const source = byName(e.valueFrom?.secretKeyRef ? 'Secret' : 'ConfigMap', ref.name ?? '');
    const data = source ? (e.valueFrom?.secretKeyRef ? secretData(source) : (source.data ?? {})) : {};
    if (data[ref.key] !== undefined) env[e.name] = data[ref.key];
    else if (!ref.optional)
      throw new Error(`${container.name}: ${e.name} refers to ${ref.name}/${ref.key}, missing`);
  }
  return env;
}

const labelsMatch = (selector: Record<string, string> = {}, labels: Record<string, string> = {}) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

function podSpecProblems(where: string, spec: IPodSpec | undefined, workload: boolean): string[] {
  const problems: string[] = [];
  if (!spec) return [`${where}: no pod spec`];
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC) problems.push(`${where}: uses the host's namespaces`);
  if (spec.enableServiceLinks !== false) {
    problems.push(
      `${where}: enableServiceLinks must be false (FLIGHT_SERVICE_PORT=tcp://… would shadow the port)`,
    );
  }
  if (spec.securityContext?.seccompProfile?.type !== 'RuntimeDefault') {
    problems.push(`${where}: seccompProfile RuntimeDefault`);
  }
  for (const c of spec.containers) {
    const at = `${where}/${c.name}`;
    const sc = c.securityContext ?? {};
    const runAsNonRoot = sc.runAsNonRoot ?? spec.securityContext?.runAsNonRoot;
    const runAsUser = sc.runAsUser ?? spec.securityContext?.runAsUser;
    // The image's USER is `node`: a name, which the kubelet cannot check against runAsNonRoot, so a uid is needed.
    if (runAsNonRoot !== true || !runAsUser) problems.push(`${at}: runAsNonRoot with a non-zero runAsUser`);
    if (sc.allowPrivilegeEscalation !== false) problems.push(`${at}: allowPrivilegeEscalation: false`);
    if (sc.privileged) problems.push(`${at}: privileged`);
    if (sc.readOnlyRootFilesystem !== true) problems.push(`${at}: readOnlyRootFilesystem: true`);
    if (!sc.capabilities?.drop?.includes('ALL') || sc.capabilities.add?.length) {
      problems.push(`${at}: capabilities: drop ALL, add none`);
    }
    for (const kind of ['requests', 'limits'] as const) {
      for (const r of ['cpu', 'memory']) {
        if (!Number.isFinite(quantity(c.resources?.[kind]?.[r])))
          problems.push(`${at}: resources.${kind}.${r}`);
      }
    }
    for (const r of ['cpu', 'memory']) {
      if (quantity(c.resources?.requests?.[r]) > quantity(c.resources?.limits?.[r])) {
        problems.push(`${at}: ${r} request above its limit`);
      }
    }
    // 128 MB of V8 old space (Dockerfile CMD) plus semi-spaces, code and native memory: 192 Mi at the least.
    if (workload && !(quantity(c.resources?.limits?.memory) >= 192 * 2 ** 20)) {
      problems.push(`${at}: memory limit below 192Mi, under the 128 MB heap plus overhead`);
    }
    if (c.ports?.some((p) => p.hostPort)) problems.push(`${at}: hostPort exposes it outside the cluster`);
    for (const e of c.env ?? []) {
      if (SECRET_VARS.includes(e.name) && !e.valueFrom?.secretKeyRef) {
        problems.push(`${at}: ${e.name} must come from a Secret`);
      }
    }
  }
  return problems;
}

/** Every rule of the contract these manifests must keep; [] when they all hold. */
function contractProblems(objects: Obj[]): string[] {
  const problems: string[] = [];
  const of = <T>(kind: string) => objects.filter((o) => o.kind === kind) as unknown as T[];
  const deployments = of<IDeployment>('Deployment');
  const services = of<IService>('Service');
  const pdbs = of<IPodDisruptionBudget>('PodDisruptionBudget');
  const hpas = of<IHorizontalPodAutoscaler>('HorizontalPodAutoscaler');
  const jobs = of<IJob>('Job');

  for (const o of objects) {
    const at = `${o.kind}/${o.metadata?.name}`;
    if (o.kind !== 'Namespace' && o.metadata?.namespace !== 'skyway')
      problems.push(`${at}: namespace skyway`);
    if (o.metadata?.labels?.['app.kubernetes.io/part-of'] !== 'skyway') problems.push(`${at}: part-of label`);
    if (o.kind === 'ConfigMap') {
      for (const k of Object.keys((o as unknown as IConfigMap).data ?? {})) {
        if (SECRET_VARS.includes(k)) problems.push(`${at}: ${k} is a secret, not configuration`);
      }
    }
  }

  const names = deployments.map((d) => d.metadata?.name).sort();
  if (JSON.stringify(names) !== JSON.stringify([...APP_NAMES].sort())) {
    problems.push(`Deployments are ${names.join(', ')}, not the four services`);
  }

  for (const app of APP_NAMES) {
    const dep = deployments.find((d) => d.metadata?.name === app);
    if (!dep) continue;
    const at = `Deployment/${app}`;
    const pod = dep.spec?.template.spec;
    const podLabels = dep.spec?.template.metadata?.labels ?? {};
    if (
      podLabels['app.kubernetes.io/name'] !== app ||
      dep.metadata?.labels?.['app.kubernetes.io/name'] !== app
    ) {
      problems.push(`${at}: app.kubernetes.io/name label`);
    }
    if (!labelsMatch(dep.spec?.selector.matchLabels, podLabels))
      problems.push(`${at}: selector misses its pods`);
    problems.push(...podSpecProblems(at, pod, true));
    const c = pod?.containers.find((x) => x.name === app);
    if (!c || pod?.containers.length !== 1) {
      problems.push(`${at}: one container named ${app}`);
      continue;
    }
    if (c.image?.split(':')[0] !== `skyway/${app}`)
      problems.push(`${at}: image skyway/${app}, got ${c.image}`);
    if (c.command || c.args) problems.push(`${at}: keeps the image's CMD (its V8 heap flags)`);

    // Probes: readiness on /ready, liveness on /health, on the container's HTTP port.
    const http = c.ports?.find((p) => p.name === 'http');
    const probePort = (p: typeof c.readinessProbe) =>
      p?.httpGet?.port === 'http' || p?.httpGet?.port === http?.containerPort;
    const ready = c.readinessProbe;
    const live = c.livenessProbe;
    if (ready?.httpGet?.path !== '/ready' || !probePort(ready))
      problems.push(`${at}: readinessProbe GET /ready`);
    if (live?.httpGet?.path !== '/health' || !probePort(live))
      problems.push(`${at}: livenessProbe GET /health`);
    if (c.startupProbe && (c.startupProbe.httpGet?.path !== '/health' || !probePort(c.startupProbe))) {
      problems.push(`${at}: startupProbe GET /health`);
    }
    // /ready gives each dependency 2 s (common/src/health.ts): the probe must wait longer to read its 503.
    if (!((ready?.timeoutSeconds ?? 1) > 2)) problems.push(`${at}: readiness timeoutSeconds must exceed 2`);
    if (!((live?.failureThreshold ?? 3) >= 3 && (live?.periodSeconds ?? 10) >= 5)) {
      problems.push(`${at}: liveness restarts too eagerly (at least 3 misses, 5 s apart)`);
    }

    // Configuration: the service's own production validation, fed what the kubelet would give it.
    let env: Record<string, string> = {};
    try {
      env = containerEnv(c, objects);
    } catch (err) {
      problems.push(`${at}: ${(err as Error).message}`);
    }
    if (env.NODE_ENV !== 'production') problems.push(`${at}: NODE_ENV=production`);
    if (env.MIGRATE_ON_START !== 'false') problems.push(`${at}: MIGRATE_ON_START=false`);
    for (const secret of REQUIRED_SECRETS[app]) {
      if (!c.env?.some((e) => e.name === secret && e.valueFrom?.secretKeyRef)) {
        problems.push(`${at}: ${secret} from a Secret`);
      }
    }
    try {
      const config = APPS[app].loadConfig(env) as unknown as Record<string, unknown>;
      if (config[APPS[app].portVar] !== http?.containerPort) {
        problems.push(
          `${at}: listens on ${String(config[APPS[app].portVar])}, containerPort ${http?.containerPort}`,
        );
      }
      for (const [key, value] of Object.entries(config)) {
        if (!/^(FLIGHT|BOOKING|NOTIFICATION)_SERVICE_URL$/.test(key)) continue;
        const target = key.replace('_URL', '').toLowerCase().replace('_', '-');
        const svc = services.find((s) => s.metadata?.name === target);
        const expected = `http://${target}:${svc?.spec?.ports?.[0]?.port}`;
        if (JSON.stringify(value) !== JSON.stringify([expected])) {
          problems.push(
            `${at}: ${key} must be the ClusterIP Service ${expected}, got ${JSON.stringify(value)}`,
          );
        }
      }
    } catch (err) {
      problems.push(`${at}: its production config is refused: ${(err as Error).message}`);
    }

    // Graceful shutdown: preStop pause + the service's own shutdown must fit in the grace period.
    const preStop = c.lifecycle?.preStop;
    const pause = preStop?.sleep?.seconds ?? Number(preStop?.exec?.command?.[1] ?? 0);
    if (!((pod?.terminationGracePeriodSeconds ?? 30) >= pause + shutdownSeconds(app))) {
      problems.push(
        `${at}: terminationGracePeriodSeconds below preStop ${pause} s + shutdown ${shutdownSeconds(app)} s`,
      );
    }

    // Its ClusterIP Service.
    const svc = services.find((s) => s.metadata?.name === app);
    if (!svc) problems.push(`${at}: no Service named ${app}`);
    else {
      if ((svc.spec?.type ?? 'ClusterIP') !== 'ClusterIP') problems.push(`Service/${app}: must be ClusterIP`);
      if (!labelsMatch(svc.spec?.selector, podLabels))
        problems.push(`Service/${app}: selector misses the pods`);
      const port = svc.spec?.ports?.[0];
      if (
        port?.port !== http?.containerPort ||
        (port?.targetPort !== 'http' && port?.targetPort !== port?.port)
      ) {
        problems.push(
          `Service/${app}: port ${port?.port}→${port?.targetPort}, container listens on ${http?.containerPort}`,
        );
      }
    }

    // Stateless: a PodDisruptionBudget and a CPU HorizontalPodAutoscaler that own the replica count.
    const hpa = hpas.find(
      (h) => h.spec?.scaleTargetRef.kind === 'Deployment' && h.spec.scaleTargetRef.name === app,
    );
    const pdb = pdbs.find((p) => labelsMatch(p.spec?.selector?.matchLabels, podLabels));
    if (!hpa) problems.push(`${at}: no HorizontalPodAutoscaler`);
    else {
      const cpu = hpa.spec?.metrics?.find((m) => m.type === 'Resource' && m.resource?.name === 'cpu');
      if (!cpu?.resource?.target.averageUtilization) problems.push(`HPA/${app}: CPU utilization target`);
      if (!((hpa.spec?.minReplicas ?? 1) >= 2))
        problems.push(`HPA/${app}: at least 2 replicas (the PDB needs them)`);
      if (dep.spec?.replicas !== undefined) problems.push(`${at}: replicas is the HPA's to set`);
    }
    if (!pdb) problems.push(`${at}: no PodDisruptionBudget`);
    else {
      const min = pdb.spec?.minAvailable;
      const max = pdb.spec?.maxUnavailable;
      const blocksDrains =
        max === undefined && (typeof min !== 'number' || min >= (hpa?.spec?.minReplicas ?? 1));
      if (max === 0 || max === '0%' || blocksDrains) problems.push(`PDB/${app}: would block every eviction`);
    }
  }

  // Only the gateway is reachable from outside the cluster.
  for (const s of services) {
    const type = s.spec?.type ?? 'ClusterIP';
    const gateway = s.spec?.selector?.['app.kubernetes.io/name'] === 'api-gateway';
    if (type !== 'ClusterIP' && !gateway)
      problems.push(`Service/${s.metadata?.name}: ${type} exposes a non-gateway`);
    if (s.spec?.externalIPs?.length) problems.push(`Service/${s.metadata?.name}: externalIPs`);
  }
  const exposed = services.filter((s) => ['LoadBalancer', 'NodePort'].includes(s.spec?.type ?? ''));
  const ingresses = objects.filter((o) => o.kind === 'Ingress');
  for (const ing of ingresses) {
    for (const name of JSON.stringify(ing).match(/"service":\{"name":"[^"]+"/g) ?? []) {
      if (!name.endsWith('"api-gateway"')) problems.push(`Ingress/${ing.metadata?.name}: routes to ${name}`);
    }
  }
  if (exposed.length + ingresses.length === 0)
    problems.push('the gateway is not exposed (LoadBalancer or Ingress)');

  // The migration Job: each service's migrate entry point, from the image its Deployment runs.
  const job = jobs.find((j) =>
    j.spec?.template.spec?.containers.some((c) => c.command?.join(' ').includes('migrate.js')),
  );
  if (!job) problems.push('no migration Job');
  else {
    const spec = job.spec?.template.spec;
    problems.push(...podSpecProblems(`Job/${job.metadata?.name}`, spec, false));
    if (!['Never', 'OnFailure'].includes(spec?.restartPolicy ?? ''))
      problems.push('migration Job: restartPolicy');
    for (const app of APP_NAMES) {
      const c = spec?.containers.find((x) => x.name === app);
      const image = deployments.find((d) => d.metadata?.name === app)?.spec?.template.spec?.containers[0]
        ?.image;
      if (!c) {
        problems.push(`migration Job: no container for ${app}`);
        continue;
      }
      if (c.image !== image)
        problems.push(`migration Job/${app}: image ${c.image}, Deployment runs ${image}`);
      const [node, ...rest] = c.command ?? [];
      if (node !== 'node' || rest[rest.length - 1] !== `${app}/dist/migrate.js` || c.workingDir !== '/app') {
        problems.push(
          `migration Job/${app}: runs node ${app}/dist/migrate.js in /app, got ${c.command?.join(' ')}`,
        );
      }
      try {
        const env = containerEnv(c, objects);
        if (env.NODE_ENV !== 'production') problems.push(`migration Job/${app}: NODE_ENV=production`);
        APPS[app].loadConfig(env);
      } catch (err) {
        problems.push(`migration Job/${app}: its production config is refused: ${(err as Error).message}`);
      }
      if (!c.env?.some((e) => e.name === 'DB_PASSWORD' && e.valueFrom?.secretKeyRef)) {
        problems.push(`migration Job/${app}: DB_PASSWORD from a Secret`);
      }
    }
  }
  return problems;
}

const objects = manifests.map((d) => d.obj);
const flightDeployment = () =>
  clone(objects.find((o) => o.kind === 'Deployment' && o.metadata?.name === 'flight-service')) as Obj;

describe('deploy/k8s manifests', () => {
  test('are there: namespace, config, secret template, four services, exposure, migration Job', () => {
    expect(files.map((f) => path.relative(K8S, f))).toEqual(
      expect.arrayContaining([
        'kustomization.yaml',
        'namespace.yaml',
        'configmap.yaml',
        'secrets.example.yaml',
        ...APP_NAMES.map((n) => `${n}.yaml`),
        'gateway-public.yaml',
        'migrate/job.yaml',
        'migrate/kustomization.yaml',
      ]),
    );
    expect(fs.existsSync(path.join(K8S, 'README.md'))).toBe(true);
  });

  test.each(manifests.map((d) => [`${d.file}: ${d.obj.kind}/${d.obj.metadata?.name}`, d.obj] as const))(
    '%s validates against the Kubernetes API schema',
    (_name, obj) => {
      expect(() => validateObject(obj)).not.toThrow();
    },
  );

  test('a broken object fails schema validation (the check can fail)', () => {
    const replicas = flightDeployment();
    (replicas.spec as Record<string, unknown>).replicas = 'two';
    expect(() => validateObject(replicas)).toThrow(/replicas must be integer/);

    const nameless = flightDeployment() as unknown as IDeployment;
    delete (nameless.spec!.template.spec!.containers[0] as Partial<IContainer>).name;
    expect(() => validateObject(nameless as unknown as Obj)).toThrow(
      /containers\/0 must have required property name/,
    );

    const port = flightDeployment() as unknown as IDeployment;
    (port.spec!.template.spec!.containers[0].ports![0] as { containerPort: unknown }).containerPort = '3001';
    expect(() => validateObject(port as unknown as Obj)).toThrow(/containerPort must be integer/);

    const memory = flightDeployment() as unknown as IDeployment;
    memory.spec!.template.spec!.containers[0].resources!.limits!.memory = '256 MB';
    expect(() => validateObject(memory as unknown as Obj)).toThrow(/quantity/);

    expect(() => validateObject({ ...flightDeployment(), apiVersion: 'apps/v1beta9' })).toThrow(
      /no schema for apps\/v1beta9/,
    );
    expect(() => validateObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } })).toThrow(
      /no schema/,
    );
  });

  test('keep every rule of the contract (probes, resources, security, secrets, PDB/HPA, Job, exposure)', () => {
    expect(contractProblems(objects)).toEqual([]);
  });

  test.each<[string, (objs: Obj[]) => void, RegExp]>([
    [
      'readiness on /health',
      (objs) => {
        const dep = objs.find((o) => o.kind === 'Deployment' && o.metadata?.name === 'booking-service');
        (dep as unknown as IDeployment).spec!.template.spec!.containers[0].readinessProbe!.httpGet!.path =
          '/health';
      },
      /booking-service: readinessProbe GET \/ready/,
    ],
    [
      'no memory limit',
      (objs) => {
        const dep = objs.find((o) => o.kind === 'Deployment' && o.metadata?.name === 'api-gateway');
        delete (dep as unknown as IDeployment).spec!.template.spec!.containers[0].resources!.limits!.memory;
      },
      /api-gateway\/api-gateway: resources.limits.memory/,
    ],
    [
      'JWT_SECRET as a literal',
      (objs) => {
        const dep = objs.find((o) => o.kind === 'Deployment' && o.metadata?.name === 'api-gateway');
        const env = (dep as unknown as IDeployment).spec!.template.spec!.containers[0].env!;
        const i = env.findIndex((e) => e.name === 'JWT_SECRET');
        env[i] = { name: 'JWT_SECRET', value: 'a-literal-secret-in-the-manifest-0123456789' };
      },
      /JWT_SECRET must come from a Secret/,
    ],
    [
      'no HPA for notification-service',
      (objs) => {
        objs.splice(
          objs.findIndex(
            (o) => o.kind === 'HorizontalPodAutoscaler' && o.metadata?.name === 'notification-service',
          ),
          1,
        );
      },
      /notification-service: no HorizontalPodAutoscaler/,
    ],
    [
      'flight-service exposed',
      (objs) => {
        const svc = objs.find((o) => o.kind === 'Service' && o.metadata?.name === 'flight-service');
        (svc as unknown as IService).spec!.type = 'LoadBalancer';
      },
      /flight-service: must be ClusterIP/,
    ],
    [
      'a service URL off its Service',
      (objs) => {
        const cm = objs.find((o) => o.kind === 'ConfigMap') as unknown as IConfigMap;
        cm.data!.FLIGHT_SERVICE_URL = 'http://127.0.0.1:3001';
      },
      /FLIGHT_SERVICE_URL must be the ClusterIP Service/,
    ],
    [
      'migrations on start',
      (objs) => {
        (objs.find((o) => o.kind === 'ConfigMap') as unknown as IConfigMap).data!.MIGRATE_ON_START = 'true';
      },
      /MIGRATE_ON_START=false/,
    ],
    [
      'no migration Job',
      (objs) => {
        objs.splice(
          objs.findIndex((o) => o.kind === 'Job'),
          1,
        );
      },
      /no migration Job/,
    ],
    [
      'grace period shorter than notification-service’s 20 s shutdown',
      (objs) => {
        const dep = objs.find((o) => o.kind === 'Deployment' && o.metadata?.name === 'notification-service');
        (dep as unknown as IDeployment).spec!.template.spec!.terminationGracePeriodSeconds = 15;
      },
      /notification-service: terminationGracePeriodSeconds/,
    ],
  ])('the rule check catches %s', (_name, breakIt, expected) => {
    const broken = clone(objects);
    breakIt(broken);
    expect(contractProblems(broken).join('\n')).toMatch(expected);
  });

  test('the kustomizations list every manifest (secrets template aside) and run the same release', () => {
    const main = parseAll(path.join(K8S, 'kustomization.yaml'))[0] as {
      resources: string[];
      images: unknown[];
    };
    const migrate = parseAll(path.join(K8S, 'migrate', 'kustomization.yaml'))[0] as typeof main;
    const topLevel = fs
      .readdirSync(K8S)
      .filter((f) => /\.ya?ml$/.test(f) && !['kustomization.yaml', 'secrets.example.yaml'].includes(f));
    expect([...main.resources].sort()).toEqual(topLevel.sort());
    expect(main.resources).not.toContain('secrets.example.yaml');
    expect(migrate.resources).toEqual(['job.yaml']);
    expect(migrate.images).toEqual(main.images);
    // The tags written in the manifests are the kustomization's, so `kubectl apply -f` runs the same release.
    for (const { name, newTag } of main.images as Array<{ name: string; newTag: string }>) {
      const used = JSON.stringify(objects).match(new RegExp(`"image":"${name}:[^"]*"`, 'g')) ?? [];
      expect(used.length).toBeGreaterThanOrEqual(2);
      for (const u of used) expect(u).toBe(`"image":"${name}:${newTag}"`);
    }
  });

  test('the secrets file is a template of placeholders, for every secret the pods refer to', () => {
    const secrets = docs.filter((d) => d.obj.kind === 'Secret');
    expect(new Set(secrets.map((d) => d.file))).toEqual(new Set(['secrets.example.yaml']));
    expect(fs.readFileSync(path.join(K8S, 'secrets.example.yaml'), 'utf8')).toMatch(
      /placeholder.*operator/is,
    );
    for (const { obj } of secrets) {
      const s = obj as unknown as ISecret;
      expect(s.data).toBeUndefined();
      for (const [k, v] of Object.entries(s.stringData ?? {})) {
        if (k !== 'DB_USER') expect([k, v]).toEqual([k, expect.stringContaining('change-me')]);
      }
    }
  });

  test('the migration Job runs entry points the image builds', () => {
    const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^WORKDIR \/app$/m);
    expect(dockerfile).toMatch(/--max-old-space-size=128/);
    const build = /RUN npx tsc -b ([^\n\\&]+)/.exec(dockerfile)?.[1] ?? '';
    for (const app of APP_NAMES) {
      expect(build.split(/\s+/)).toContain(app);
      expect(fs.existsSync(path.join(ROOT, app, 'src', 'migrate.ts'))).toBe(true);
      const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, app, 'package.json'), 'utf8'));
      expect(pkg.scripts.migrate).toBe('node dist/migrate.js');
    }
  });
});
