import { Histogram } from 'prom-client';
import { metric, type ServiceMetrics } from '@skyway/common';

/**
 * Sees the size of each hold transaction (1: a hold alone; more: the holds that waited on the same flight and went
 * together, see db/hold-batches.ts) as `flight_hold_batch_size`. Undefined with metrics off.
 */
export function holdBatchObserver(metrics: ServiceMetrics): ((holds: number) => void) | undefined {
  if (!metrics.enabled) return undefined;
  const sizes = metric(metrics.registry, Histogram, {
    name: 'flight_hold_batch_size',
    help: 'Seat holds per hold transaction: 1 alone, more when holds on one flight waited and committed together',
    buckets: [1, 2, 4, 8, 16, 32, 50],
  });
  return (holds) => sizes.observe(holds);
}
