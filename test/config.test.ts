import { describe, expect, it } from 'vitest';
import { ConfigError, configFromEnv, parseStoreSpec } from '../src/service/config.js';

describe('configuration from the environment', () => {
  it('has the documented defaults, bound to loopback', () => {
    const c = configFromEnv({});
    expect(c).toMatchObject({ host: '127.0.0.1', port: 8080, maxActive: 3, token: undefined, corsOrigins: [], saveRoots: [] });
    expect(c.dataDir.endsWith('/data')).toBe(true);
    expect(c.downloadDir.endsWith('/downloads')).toBe(true);
  });

  it('reads every variable, and flags override them', () => {
    const c = configFromEnv({
      PORT: '9000', HOST: '::1', M3U8DM_DATA_DIR: '/srv/d', M3U8DM_DOWNLOAD_DIR: '/srv/v', M3U8DM_MAX_ACTIVE: '2', M3U8DM_TOKEN: 't',
      M3U8DM_SAVE_ROOTS: '/mnt/a:/mnt/b', M3U8DM_CORS_ORIGINS: 'http://a.example, http://b.example',
    }, { port: 9001 });
    expect(c).toMatchObject({ port: 9001, host: '::1', dataDir: '/srv/d', downloadDir: '/srv/v', maxActive: 2, token: 't', saveRoots: ['/mnt/a', '/mnt/b'], corsOrigins: ['http://a.example', 'http://b.example'] });
  });

  it('refuses bad numbers naming the variable', () => {
    expect(() => configFromEnv({ M3U8DM_MAX_ACTIVE: '-1' })).toThrow(new ConfigError('M3U8DM_MAX_ACTIVE must be an integer from 0 to 64, got `-1`'));
    expect(() => configFromEnv({ M3U8DM_LEASE_S: '0' })).toThrow(new ConfigError('M3U8DM_LEASE_S must be an integer from 1 to 3600, got `0`'));
    expect(() => configFromEnv({ M3U8DM_LEASE_S: '1.5' })).toThrow(/M3U8DM_LEASE_S must be an integer/);
    expect(() => configFromEnv({ PORT: 'http' })).toThrow(/PORT must be an integer from 0 to 65535, got `http`/);
  });

  it('names the node and its lease: defaults, variables, and an API-only node', () => {
    expect(configFromEnv({})).toMatchObject({ nodeId: expect.stringMatching(new RegExp(`-${process.pid}$`)), leaseMs: 30_000 });
    expect(configFromEnv({ M3U8DM_NODE_ID: 'worker-a', M3U8DM_LEASE_S: '3', M3U8DM_MAX_ACTIVE: '0' })).toMatchObject({ nodeId: 'worker-a', leaseMs: 3_000, maxActive: 0 });
    expect(() => configFromEnv({ M3U8DM_NODE_ID: 'two words' })).toThrow(/M3U8DM_NODE_ID must be 1–128 printable ASCII characters without spaces, got `two words`/);
  });
});

describe('the store spec (M3U8DM_STORE)', () => {
  it('is nedb when unset or `nedb`, PostgreSQL for a postgres:// or postgresql:// URL, and a flag wins', () => {
    expect(configFromEnv({}).store).toEqual({ kind: 'nedb' });
    expect(configFromEnv({ M3U8DM_STORE: 'nedb' }).store).toEqual({ kind: 'nedb' });
    const url = 'postgres://me:pw@db.example:5433/m3u8dm';
    expect(configFromEnv({ M3U8DM_STORE: url }).store).toEqual({ kind: 'postgres', url });
    expect(configFromEnv({ M3U8DM_STORE: 'postgresql://db.example/m3u8dm' }).store).toEqual({ kind: 'postgres', url: 'postgresql://db.example/m3u8dm' });
    expect(configFromEnv({ M3U8DM_STORE: 'sqlite:x' }, { store: parseStoreSpec('nedb', '--store') }).store).toEqual({ kind: 'nedb' });
  });

  it('refuses anything else naming the variable and what it expects, with any password masked', () => {
    const expected = 'M3U8DM_STORE must be `nedb` or a postgres://user:pass@host:port/db URL';
    expect(() => configFromEnv({ M3U8DM_STORE: 'nedb2' })).toThrow(new ConfigError(`${expected}, got \`nedb2\``));
    for (const spec of ['mysql://me:s3cret@db/x', 'postgres://me:s3cret@db:port/x', 'me:s3cret@db/x']) {
      const err = (() => { try { configFromEnv({ M3U8DM_STORE: spec }); } catch (e) { return e as Error; } return null; })();
      expect(err).toBeInstanceOf(ConfigError);
      expect(err!.message.startsWith(expected)).toBe(true);
      expect(err!.message).toContain('me:***@');
      expect(err!.message).not.toContain('s3cret');
    }
    expect(() => parseStoreSpec('postgres:///x', '--store')).toThrow('--store must be `nedb` or a postgres://user:pass@host:port/db URL; `postgres:///x` names no host');
  });
});
