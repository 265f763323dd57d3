import type { ReplicaHealth } from '../clients/service-readiness';

export type ServiceHealth = ReplicaHealth;

export interface ServicesHealth {
  ok: boolean;
  services: Record<string, ServiceHealth>;
}

/** Service name → one probe per replica. */
export type ServiceProbes = Record<string, Array<() => Promise<ReplicaHealth>>>;

/** A service is ok only when every one of its replicas is ready: round-robin would still send calls to a sick one. */
function combine(replicas: ReplicaHealth[]): ServiceHealth {
  if (replicas.length === 1) return replicas[0];
  const down = replicas.flatMap((r, i) => (r.status === 'ok' ? [] : [`replica ${i + 1}: ${r.detail}`]));
  return down.length ? { status: 'down', detail: down.join('; ') } : { status: 'ok' };
}

/** Every service's readiness, all replicas asked at once. */
export async function checkServices(probes: ServiceProbes): Promise<ServicesHealth> {
  const results = await Promise.all(
    Object.entries(probes).map(
      async ([name, replicas]) => [name, combine(await Promise.all(replicas.map((p) => p())))] as const,
    ),
  );
  return {
    ok: results.every(([, health]) => health.status === 'ok'),
    services: Object.fromEntries(results),
  };
}
