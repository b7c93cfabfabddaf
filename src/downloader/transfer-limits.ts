// The service's transfer limits in one place: the shared speed bucket
// (`max_download_speed`), the per-host politeness (`max_connections_per_host`,
// Retry-After, AIMD), and each running download's own speed (`max_speed`), all
// changeable while downloads run.
import type { TransferSettings } from '../types.js';
import { HostLimits } from './host-limits.js';
import { TaskBandwidth, TokenBucket } from './rate-limit.js';

/** What one download runs under; handed to downloadStream. */
export interface DownloadLimits {
  bandwidth?: TaskBandwidth;
  hosts?: HostLimits;
}


export class TransferLimits {
  readonly shared = new TokenBucket();
  readonly hosts = new HostLimits();
  readonly #running = new Map<number, TaskBandwidth>();

  /** Applies new settings to the running downloads too. */
  configure(settings: TransferSettings): void {
    this.shared.setRate(settings.max_download_speed);
    this.hosts.setCap(settings.max_connections_per_host);
  }

  /** The limits for task `id`, whose own limit is `maxSpeed` (0 = none); `release` when it ends. */
  open(id: number, maxSpeed: number): DownloadLimits {
    this.#running.get(id)?.close();
    const bandwidth = new TaskBandwidth(maxSpeed, this.shared);
    this.#running.set(id, bandwidth);
    return { bandwidth, hosts: this.hosts };
  }

  /** Changes a running task's own limit; false when it is not running. */
  setTaskSpeed(id: number, maxSpeed: number): boolean {
    const bandwidth = this.#running.get(id);
    bandwidth?.setRate(maxSpeed);
    return bandwidth !== undefined;
  }

  /** The limit that applies to a running task (the lower of its own and the shared one); 0 = unlimited. */
  effectiveSpeed(id: number): number {
    return this.#running.get(id)?.effectiveRate ?? 0;
  }

  release(id: number, limits: DownloadLimits): void {
    limits.bandwidth?.close();
    if (this.#running.get(id) === limits.bandwidth) this.#running.delete(id);
  }
}
