import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per server instance, so tests can run several side by side. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'stint_' });
  return {
    registry,
    httpRequests: new Counter({
      name: 'stint_http_requests_total',
      help: 'HTTP requests by route and status code',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'stint_http_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames: ['method', 'route'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    requestsCreated: new Counter({ name: 'stint_requests_created_total', help: 'Access requests created', labelNames: ['outcome'] as const, registers: [registry] }),
    grantsActivated: new Counter({ name: 'stint_grants_activated_total', help: 'Grants whose credential was issued', registers: [registry] }),
    grantsEnded: new Counter({ name: 'stint_grants_ended_total', help: 'Grants ended, by reason', labelNames: ['reason'] as const, registers: [registry] }),
    revokeFailures: new Counter({
      name: 'stint_revoke_failures_total',
      help: 'Provider revocations that failed and will be retried',
      labelNames: ['provider'] as const,
      registers: [registry],
    }),
    issueRetries: new Counter({
      name: 'stint_issue_retries_total',
      help: 'Issue attempts that failed in a way a retry may get past (the provider was down); the grant stays issuing',
      labelNames: ['provider'] as const,
      registers: [registry],
    }),
    revokesPending: new Gauge({ name: 'stint_revokes_pending', help: 'Grants whose credential is still being revoked', registers: [registry] }),
    retiredProviders: new Gauge({
      name: 'stint_retired_providers',
      help: 'Providers a configuration reload dropped or changed, kept until the last grant they issued has ended',
      registers: [registry],
    }),
    revokeLateness: new Histogram({
      name: 'stint_revoke_lateness_seconds',
      help: 'From the moment a credential had to stop working (its deadline, or when it was ended early) to the provider confirming it is gone, by why it ended',
      labelNames: ['reason'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 60, 300, 3600],
      registers: [registry],
    }),
    credentialReads: new Counter({ name: 'stint_credential_reads_total', help: 'Credential reads by grantees', registers: [registry] }),
    sseClients: new Gauge({ name: 'stint_sse_clients', help: 'Connected event-stream clients on this replica', registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
