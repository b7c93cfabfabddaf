// Parsers for command-line values. Each throws commander's InvalidArgumentError,
// which commander turns into a one-line usage error (exit 2) naming the option.
import { InvalidArgumentError } from 'commander';
import { BYTE_RATE_FORMS, parseByteRate } from '../api/byte-rate.js';
import { LIVE_DURATION_EXPECTED, parseLiveDuration } from '../downloader/live-options.js';
import { parseSkipExpression } from '../downloader/skip-rules.js';
import type { HeaderMap, OutputFormat, VariantChoice } from '../types.js';
import { HH_MM } from '../wire-vocabulary.js';

export function intOption(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}, got \`${value}\``);
    }
    return n;
  };
}

/** True for an absolute http:// or https:// URL. */
export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

export function httpUrlArgument(what: string) {
  return (value: string): string => {
    if (!isHttpUrl(value)) throw new InvalidArgumentError(`expected an http:// or https:// ${what}, got \`${value}\``);
    return value;
  };
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** `-H "Name: value"`, repeatable; one name may carry several values. */
export function collectHeader(value: string, previous: HeaderMap = {}): HeaderMap {
  const colon = value.indexOf(':');
  const name = colon > 0 ? value.slice(0, colon).trim() : '';
  const headerValue = colon > 0 ? value.slice(colon + 1).trim() : '';
  if (!name || !HEADER_NAME.test(name)) {
    throw new InvalidArgumentError(`-H must look like "Name: value" with a valid header name, got \`${value}\``);
  }
  if (/[\r\n\0]/.test(headerValue)) throw new InvalidArgumentError(`-H ${name} must not contain line breaks or NUL`);
  // One spelling per name, whatever case the user typed it in.
  const existing = Object.keys(previous).find((k) => k.toLowerCase() === name.toLowerCase()) ?? name;
  return { ...previous, [existing]: [...(previous[existing] ?? []), headerValue] };
}

export function collectString(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function parseVariant(value: string): VariantChoice {
  if (value === 'best' || value === 'worst') return value;
  const height = Number(value.replace(/p$/i, ''));
  if (Number.isInteger(height) && height >= 1 && height <= 10_000) return height;
  throw new InvalidArgumentError(`--variant must be best, worst or a maximum height such as 720, got \`${value}\``);
}

export const FORMATS: readonly OutputFormat[] = ['mp4', 'mkv', 'ts'];

export function parseSkip(value: string): string {
  try {
    parseSkipExpression(value);
  } catch (err) {
    throw new InvalidArgumentError(`--skip: ${(err as Error).message}`);
  }
  return value;
}

export function parseStartTime(value: string): string {
  if (!HH_MM.test(value)) throw new InvalidArgumentError(`--start must be a local time "HH:MM" (00:00–23:59), got \`${value}\``);
  return value;
}

/** A positive task id as the API gives them. */
export function parseTaskId(value: string): number {
  if (!/^\d{1,15}$/.test(value) || Number(value) < 1) throw new InvalidArgumentError(`task ids are positive integers, got \`${value}\``);
  return Number(value);
}

/** `--limit-rate 500K`: bytes per second, in the forms the API takes. */
export function parseLimitRate(value: string): number {
  try {
    return parseByteRate(value);
  } catch {
    throw new InvalidArgumentError(`--limit-rate must be ${BYTE_RATE_FORMS}; got \`${value}\``);
  }
}

export function parseLiveDurationOption(value: string): number {
  const seconds = parseLiveDuration(value);
  if (seconds === undefined) throw new InvalidArgumentError(`--live-max-duration ${LIVE_DURATION_EXPECTED}, got \`${value}\``);
  return seconds;
}

/** Seconds, fractions allowed. */
export function secondsOption(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a number of seconds from ${min} to ${max}, got \`${value}\``);
    }
    return n;
  };
}
