/**
 * Entry of the coordinator thread. Started by `Coordinator.start()`; see src/sweeper.ts.
 */
import { workerData } from 'node:worker_threads';
import { Sweeper, type SweeperSettings } from '../src/recovery/sweeper.js';

await new Sweeper(workerData as SweeperSettings).run();
