/**
 * Machine description, labels and file names for benchmark results.
 *
 * @module
 */
import os from 'node:os';

export interface MachineInfo {
  readonly label: string;
  readonly cpuModel: string;
  readonly cores: number;
  readonly availableParallelism: number;
  readonly memoryBytes: number;
  readonly platform: string;
  readonly arch: string;
  readonly node: string;
  readonly v8: string;
}

/** Describes this machine. `label` defaults to `<cores>c-<cpu vendor/family slug>`. */
export function machineInfo(label?: string): MachineInfo {
  const cpus = os.cpus();
  const cpuModel = (cpus[0]?.model ?? 'unknown').trim();
  const cores = os.availableParallelism();
  const slug = cpuModel
    .toLowerCase()
    .replace(/\(r\)|\(tm\)|cpu|processor|@.*$/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .split('-')
    .slice(0, 3)
    .join('-');
  return {
    label: label ?? `${cores}c-${slug || 'cpu'}`,
    cpuModel,
    cores: cpus.length,
    availableParallelism: cores,
    memoryBytes: os.totalmem(),
    platform: `${os.platform()} ${os.release()}`,
    arch: os.arch(),
    node: process.version,
    v8: process.versions.v8,
  };
}

/** `YYYY-MM-DD` in UTC. */
export function today(): string {
  return new Date().toISOString().slice(0, 10);
}
