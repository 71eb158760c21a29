import { describe, expect, it } from 'vitest';
import { startHarness } from './harness';

describe('a failure inside the server', () => {
  it('answers 500 with an error id and no internals', async () => {
    const h = await startHarness({ engine: 'sqlite' });
    try {
      // Break the database underneath a running server: the next query fails deep inside.
      await h.server.store.db.destroy();
      const response = await h.api('alice', 'GET', '/v1/requests');
      expect(response.status).toBe(500);
      expect(response.body).toEqual({ error: 'internal', message: expect.stringMatching(/^Something went wrong on the Stint server \(error id [0-9a-f-]{36}\)\. Try again/) });
      expect(JSON.stringify(response.body)).not.toMatch(/sqlite|kysely|stack|at \w+ \(/i);
    } finally {
      await h.server.app.close();
      await h.idp.close();
    }
  });
});
