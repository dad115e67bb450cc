/**
 * Compile-time checks of `Registry<V>` (run by test/typed-values.test.ts through the TypeScript
 * compiler, strict, NodeNext). Nothing here runs; a type error fails the test.
 */
import { Registry, type Entry, type Pid, type UpdateResult } from '../../dist/src/index.js';

interface Room {
  readonly topic: string;
  readonly members: number;
}

const rooms = Registry.create<Room>({ keys: 'unique' });
rooms.register('room:1', { topic: 'chess', members: 2 });
// @ts-expect-error a value that is not a Room
rooms.register('room:2', 42);
const found: Array<Entry<Room>> = rooms.lookup('room:1');
const topic: string | undefined = found[0]?.[1].topic;
const pid: Pid | undefined = found[0]?.[0];
const matched: Array<Entry<Room>> = rooms.match('room:1', { topic: 'chess' });
const values: Room[] = rooms.values('room:1', pid ?? 0);
const updated: UpdateResult<Room> = rooms.updateValue('room:1', (r) => ({ ...r, members: r.members + 1 }));
const viaRef: Array<Entry<Room>> = rooms.ref('room:1').lookup();
rooms.dispatch('room:1', (entries) => entries.map(([, r]) => r.members));
const attached: Registry<Room> = Registry.attach<Room>(rooms.handle);
const untyped: Registry = Registry.create({ keys: 'duplicate' });
untyped.register('any', Symbol.for('values are unknown by default').description);

export { topic, matched, values, updated, viaRef, attached };
