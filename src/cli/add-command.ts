// `m3u8dm add`: queues URLs on a running service, from arguments, files or stdin;
// `--wait` follows them to the end and fails when any of them did not complete.
import { Command, Option } from 'commander';
import type { HeaderMap, LiveStart, OutputFormat, TaskOptions, VariantChoice } from '../types.js';
import type { CreateTasksBody } from './client.js';
import { clientCommand, clientFrom, type ClientCommandOptions } from './client-options.js';
import { ExitCode } from './errors.js';
import { collectHeader, collectString, FORMATS, intOption, parseLimitRate, parseLiveDurationOption, parseSkip, parseStartTime, parseVariant } from './option-parsers.js';
import { writeJson } from './output.js';
import { parseProxyUrl, type ProxyFields } from './proxy-url.js';
import { exitWhenDone } from './run-action.js';
import { createTaskBoard } from './task-board.js';
import { collectUrls } from './url-list.js';
import { waitForTasks, type WaitOutcome } from './wait-for-tasks.js';

interface AddOptions extends ClientCommandOptions {
  file?: string[];
  filename?: string;
  header?: HeaderMap;
  threads?: number;
  format?: OutputFormat;
  variant?: VariantChoice;
  proxy?: ProxyFields;
  skip?: string;
  insecure?: boolean;
  limitRate?: number;
  saveDir?: string;
  start?: string;
  wait?: boolean;
  json?: boolean;
  liveMaxDuration?: number;
  liveStart?: LiveStart;
}

/** The API accepts at most this many URLs in one request. */
const BATCH = 1000;

function taskOptions(opts: AddOptions): Partial<TaskOptions> {
  const options: Partial<TaskOptions> = { ...(opts.proxy ?? {}) };
  if (opts.threads !== undefined) options.download_threads = opts.threads;
  if (opts.format !== undefined) options.format = opts.format;
  if (opts.variant !== undefined) options.variant = opts.variant;
  if (opts.skip !== undefined) options.skip_ts_info = opts.skip;
  if (opts.insecure) options.allow_insecure_https = true;
  if (opts.limitRate !== undefined) options.max_speed = opts.limitRate;
  if (opts.saveDir !== undefined) options.save_location = opts.saveDir;
  if (opts.liveMaxDuration !== undefined) options.live_max_duration = opts.liveMaxDuration;
  if (opts.liveStart !== undefined) options.live_start = opts.liveStart;
  return options;
}

function outcomeLine(outcome: WaitOutcome): string {
  const { id, task } = outcome;
  if (outcome.deleted) return `#${id} deleted before it ended`;
  if (task!.status_text === 'completed') return `#${id} completed ${task!.output_path}`;
  if (task!.status_text === 'failed') return `#${id} failed: ${task!.err_msg}`;
  return `#${id} ${task!.status_text} (${task!.filename})`;
}

async function runAdd(args: string[], opts: AddOptions): Promise<ExitCode> {
  const urls = await collectUrls(args, opts.file ?? []);
  const client = clientFrom(opts);
  const base: Omit<CreateTasksBody, 'urls'> = { source: 'cli' };
  if (opts.filename) base.filename = opts.filename;
  if (opts.header) base.headers = opts.header;
  const options = taskOptions(opts);
  if (Object.keys(options).length) base.options = options;
  if (opts.start) base.start_time = opts.start;

  // Ctrl-C while waiting stops the waiting, not the tasks.
  const stopWaiting = new AbortController();
  const events = opts.wait ? await client.events(stopWaiting.signal) : undefined;
  try {
    const ids: number[] = [];
    for (let i = 0; i < urls.length; i += BATCH) {
      const created = await client.createTasks({ ...base, urls: urls.slice(i, i + BATCH) });
      ids.push(...created.task_ids);
    }
    if (!opts.wait) {
      if (opts.json) writeJson({ task_ids: ids, created_count: ids.length });
      else process.stdout.write(`queued ${ids.length} task${ids.length === 1 ? '' : 's'}: ${ids.join(' ')}\n`);
      return ExitCode.ok;
    }

    const board = createTaskBoard(process.stderr);
    const onSignal = () => stopWaiting.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    let outcomes: WaitOutcome[];
    try {
      outcomes = await waitForTasks({ client, ids, events, board, signal: stopWaiting.signal });
    } catch (err) {
      board.stop();
      if (!stopWaiting.signal.aborted) throw err;
      process.stderr.write(`m3u8dm: stopped waiting; tasks ${ids.join(' ')} go on in the service — follow them with \`m3u8dm watch\` or \`m3u8dm ls\`\n`);
      return ExitCode.interrupted;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    board.stop();
    const completed = outcomes.filter((o) => !o.deleted && o.task.status_text === 'completed').length;
    if (opts.json) writeJson(outcomes.map((o) => o.task ?? { id: o.id, deleted: true }));
    else {
      process.stdout.write(outcomes.map((o) => `${outcomeLine(o)}\n`).join(''));
      process.stdout.write(`${completed} of ${outcomes.length} completed\n`);
    }
    if (completed === outcomes.length) return ExitCode.ok;
    // One line on stderr too, so a script's log shows why it stopped.
    process.stderr.write(`m3u8dm: ${outcomes.length - completed} of ${outcomes.length} tasks did not complete — see \`m3u8dm show ID\`, then \`m3u8dm retry ID\`\n`);
    return ExitCode.failed;
  } finally {
    stopWaiting.abort();
  }
}

export function addCommand(): Command {
  return clientCommand('add')
    .description('queue downloads on the running service')
    .argument('[url...]', 'playlist URLs; `-` reads one URL per line from stdin')
    .option('-f, --file <file>', 'read URLs from a file, one per line (blank lines and # comments skipped; `-` is stdin); repeatable', collectString)
    .option('-o, --filename <name>', 'output file name (several URLs get _1, _2…); default: from the URL')
    .option('-H, --header <header>', 'HTTP header "Name: value" (repeatable)', collectHeader)
    .option('--threads <n>', 'segments downloaded at once, 1–128', intOption('--threads', 1, 128))
    .addOption(new Option('--format <format>', 'output container (default mp4)').choices(FORMATS))
    .option('--variant <choice>', 'variant of a master playlist: best, worst or a maximum height such as 720', parseVariant)
    .option('--proxy <url>', 'proxy: http://[user:pass@]host:port, https://…, socks5://… or socks4://…', parseProxyUrl)
    .option('--skip <expr>', 'skip segments: "1,92-100,http.code=403,time:00:00:10-00:00:20"', parseSkip)
    .option('--insecure', 'accept invalid TLS certificates')
    .option('--limit-rate <speed>', "this task's speed limit, under the service's max_download_speed: bytes per second or 500K, 5M, 1.5MB", parseLimitRate)
    .option('--save-dir <dir>', "folder to save into (inside the service's download dir or M3U8DM_SAVE_ROOTS)")
    .option('--start <HH:MM>', "do not start before this local time (the service's time zone)", parseStartTime)
    .option('--live-max-duration <d>', 'live streams: stop recording after this much media, seconds or HH:MM:SS', parseLiveDurationOption)
    .addOption(new Option('--live-start <where>', 'live streams: record from the oldest listed segment (window) or the last 3 (edge)').choices(['window', 'edge']))
    .option('--wait', 'follow the tasks with a progress bar each until all end; exit 1 if any did not complete')
    .option('--json', 'print JSON: {task_ids, created_count}, or the final tasks with --wait')
    .addHelpText('after', `
Examples:
  m3u8dm add https://example.com/a/index.m3u8 https://example.com/b/index.m3u8
  m3u8dm add -f urls.txt --threads 16 --wait
  grep -h m3u8 links/*.txt | m3u8dm add - --json
  m3u8dm add https://example.com/live.m3u8 --start 20:00 --live-max-duration 01:00:00   # record 20:00–21:00`)
    .action(exitWhenDone((args: string[], opts: AddOptions) => runAdd(args, opts)));
}
