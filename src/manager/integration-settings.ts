// Settings that tell the rest of the world about downloads: webhooks and the
// run-on-finish hooks. They are service settings, saved beside the download
// settings and shown by the same `/api/settings`, but never part of a task's
// options: no task can carry its own hook or webhook.

/** What a webhook can subscribe to. */
export const WEBHOOK_EVENTS = ['task.created', 'task.started', 'task.completed', 'task.failed', 'task.paused', 'task.deleted', 'queue.drained'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export interface WebhookConfig {
  /** http:// or https:// receiver. */
  url: string;
  /** Events sent to it. @defaultValue every event */
  events: WebhookEvent[];
  /** HMAC-SHA256 key of `X-M3U8DM-Signature`; write-only, empty for unsigned deliveries. */
  secret: string;
}

export interface IntegrationSettings {
  webhooks: WebhookConfig[];
  /** argv run when a task completes (argv[0] an absolute program path); empty: none. */
  on_complete: string[];
  /** argv run when a task fails; empty: none. */
  on_fail: string[];
}

export const DEFAULT_INTEGRATIONS: IntegrationSettings = { webhooks: [], on_complete: [], on_fail: [] };

/** A webhook as the API shows it: the secret blanked, whether one is set told apart. */
export interface WebhookView extends WebhookConfig {
  has_secret: boolean;
}

export function maskIntegrations(settings: IntegrationSettings): Omit<IntegrationSettings, 'webhooks'> & { webhooks: WebhookView[] } {
  return {
    ...settings,
    webhooks: settings.webhooks.map((w) => ({ url: w.url, events: [...w.events], secret: '', has_secret: w.secret !== '' })),
  };
}

export interface WebhookInput {
  url: string;
  events?: WebhookEvent[] | undefined;
  secret?: string | undefined;
}

/**
 * Applies an update. A webhook sent with a blank (or no) secret keeps the secret saved
 * for the same URL, because readers only ever see it blank and send it back that way.
 */
export function mergeIntegrations(
  saved: IntegrationSettings,
  update: { webhooks?: WebhookInput[] | undefined; on_complete?: string[] | undefined; on_fail?: string[] | undefined },
): IntegrationSettings {
  const next: IntegrationSettings = { ...saved };
  if (update.webhooks) {
    const secrets = new Map(saved.webhooks.map((w) => [w.url, w.secret]));
    next.webhooks = update.webhooks.map((w) => ({
      url: w.url,
      events: w.events?.length ? [...new Set(w.events)] : [...WEBHOOK_EVENTS],
      secret: w.secret ? w.secret : (secrets.get(w.url) ?? ''),
    }));
  }
  if (update.on_complete) next.on_complete = [...update.on_complete];
  if (update.on_fail) next.on_fail = [...update.on_fail];
  return next;
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|\[::1\]|localhost)$/i;

/**
 * Why hooks are off, or null when they may run. A hook runs a program on this machine;
 * an open API (no token) that others can reach must not be able to set one.
 */
export function hooksDisabledReason(config: { host: string; token?: string | undefined; basicAuth?: unknown }): string | null {
  if (config.token || config.basicAuth || LOOPBACK.test(config.host)) return null;
  return `hooks are disabled because the service listens on ${config.host} without a token; set M3U8DM_TOKEN (or Basic auth, or listen on 127.0.0.1) to use on_complete and on_fail`;
}
