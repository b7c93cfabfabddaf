// `ls`, `show`, `stats` and the task actions `pause`, `resume`, `retry`, `rm`.
import { Command, InvalidArgumentError } from 'commander';
import type { ServiceClient } from './client.js';
import { clientCommand, clientFrom, type ClientCommandOptions } from './client-options.js';
import { ApiRequestError, ExitCode } from './errors.js';
import { parseTaskId } from './option-parsers.js';
import { formatStats, formatTaskDetails, formatTaskTable, terminalWidth, writeJson } from './output.js';
import { exitWhenDone } from './run-action.js';
import { STATUS_NAMES, type StatusName } from '../wire-vocabulary.js';


/** `running` or `pending,paused` → the API's `1` or `0,4`. */
export function parseStatusFilter(value: string): string {
  return value.split(',').map((name) => {
    const code = STATUS_NAMES.indexOf(name.trim().toLowerCase() as StatusName);
    if (code === -1) throw new InvalidArgumentError(`--status must be ${STATUS_NAMES.join(', ')} (comma-separated for several), got \`${name}\``);
    return String(code);
  }).join(',');
}

interface ListOptions extends ClientCommandOptions {
  status?: string;
  search?: string;
  json?: boolean;
}

function listCommand(): Command {
  return clientCommand('ls')
    .alias('list')
    .description('list tasks, newest first')
    .option('--status <status>', `only tasks in this status: ${STATUS_NAMES.join(', ')} (comma-separated for several)`, parseStatusFilter)
    .option('--search <text>', 'only tasks whose URL or file name contains this text')
    .option('--json', 'print the tasks as a JSON array (the /api/v1 task objects)')
    .action(exitWhenDone(async (opts: ListOptions) => {
      const tasks = await clientFrom(opts).listAll({ status: opts.status, q: opts.search });
      if (opts.json) writeJson(tasks);
      else if (tasks.length === 0) process.stdout.write('no tasks\n');
      else process.stdout.write(formatTaskTable(tasks, terminalWidth()));
    }));
}

function showCommand(): Command {
  return clientCommand('show')
    .description('show one task in full')
    .argument('<id>', 'task id', parseTaskId)
    .option('--json', 'print the task as JSON (the /api/v1 task object)')
    .action(exitWhenDone(async (id: number, opts: ClientCommandOptions & { json?: boolean }) => {
      const task = await clientFrom(opts).getTask(id);
      if (opts.json) writeJson(task);
      else process.stdout.write(formatTaskDetails(task));
    }));
}

function statsCommand(): Command {
  return clientCommand('stats')
    .description('count tasks by status, and the total download speed')
    .option('--json', 'print the counts as JSON')
    .action(exitWhenDone(async (opts: ClientCommandOptions & { json?: boolean }) => {
      const stats = await clientFrom(opts).stats();
      if (opts.json) writeJson(stats);
      else process.stdout.write(formatStats(stats));
    }));
}

interface TaskAction {
  name: string;
  description: string;
  /** Past tense for the confirmation line: `paused 12`. */
  done: string;
  call: (client: ServiceClient, id: number) => Promise<unknown>;
}

const ACTIONS: TaskAction[] = [
  { name: 'pause', description: 'pause tasks (a running one stops; its finished segments are kept)', done: 'paused', call: (c, id) => c.stopTask(id) },
  { name: 'resume', description: 'queue paused or failed tasks again, keeping their finished segments', done: 'resumed', call: (c, id) => c.resumeTask(id) },
  { name: 'retry', description: 'queue failed tasks again, keeping their finished segments', done: 'retrying', call: (c, id) => c.retryTask(id) },
  { name: 'rm', description: 'delete tasks (a running one is stopped; a finished output file is kept)', done: 'removed', call: (c, id) => c.deleteTask(id) },
];

function actionCommand(action: TaskAction): Command {
  const command = clientCommand(action.name)
    .description(action.description)
    .argument('<id...>', 'task ids', (value: string, previous: number[] = []) => [...previous, parseTaskId(value)])
    .action(exitWhenDone(async (ids: number[], opts: ClientCommandOptions) => {
      const client = clientFrom(opts);
      let code: ExitCode = ExitCode.ok;
      for (const id of ids) {
        try {
          await action.call(client, id);
          process.stdout.write(`${action.done} ${id}\n`);
        } catch (err) {
          // Other ids still get their turn; the service being away ends it for all.
          if (!(err instanceof ApiRequestError)) throw err;
          process.stderr.write(`m3u8dm: ${err.message}\n`);
          code = ExitCode.failed;
        }
      }
      return code;
    }));
  if (action.name === 'rm') command.alias('remove');
  return command;
}

export function taskCommands(): Command[] {
  return [listCommand(), showCommand(), statsCommand(), ...ACTIONS.map(actionCommand)];
}
