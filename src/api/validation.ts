// Turns zod issues into one line a person can act on: the field, what was expected,
// what came (`download_threads must be an integer from 1 to 128, got 0 (number)`).
import type { z } from 'zod';

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return '`null`';
  let text: string;
  try {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition, @typescript-eslint/no-base-to-string -- JSON.stringify gives undefined for a function or a symbol, whatever its typing says
    text = JSON.stringify(value) ?? String(value);
  } catch {
    // Too deep or circular for JSON; String() would recurse just as deep.
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- objects are handled before String()
    text = Array.isArray(value) ? '[…]' : typeof value === 'object' ? '{…}' : String(value);
  }
  if (text.length > 60) text = `${text.slice(0, 57)}...`;
  const kind = Array.isArray(value) ? 'array' : typeof value;
  return `\`${text}\` (${kind})`;
}

type Issue = z.core.$ZodIssue & { input?: unknown };

export function describeIssue(issue: Issue): string {
  const field = issue.path.length ? issue.path.map(String).join('.') : 'request body';
  const got = describeValue(issue.input);
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? `${field} is required (${issue.expected})` : `${field} must be ${issue.expected === 'int' ? 'an integer' : `a ${issue.expected}`}, got ${got}`;
    case 'invalid_value':
      return `${field} must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${got}`;
    case 'unrecognized_keys':
      return `${field} has unknown field(s): ${issue.keys.join(', ')}`;
    default:
      // Our own messages are written as predicates ("must be …") or whole sentences naming the field.
      if (issue.message.startsWith('must ')) return `${field} ${issue.message}, got ${got}`;
      if (issue.message.includes(field)) return issue.message;
      return `${field}: ${issue.message}`;
  }
}

/** First issue first: one clear message beats a wall of them. */
export function describeError(error: z.ZodError): string {
  return error.issues.map((i) => describeIssue(i)).slice(0, 3).join('; ');
}
