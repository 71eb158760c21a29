// The baseline for api_read_ratio_vs_fastify: Fastify's hello world, nothing else.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));
const address = await app.listen({ port: 0, host: '127.0.0.1' });
console.log(JSON.stringify({ url: `${address}/` }));
process.once('SIGTERM', async () => {
  await app.close();
  process.exit(0);
});
