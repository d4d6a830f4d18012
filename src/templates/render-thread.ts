/** A render thread (started by render-pool.ts): renders each job it is sent and answers it, one at a time. */
import { parentPort } from 'node:worker_threads';
import { serveRenderJobs } from './render-pool.ts';

serveRenderJobs(parentPort!);
