// The transition table read as the state machine DESIGN.md describes: every command's
// allowed statuses and where they lead, and the errors' stable codes and causes.
import { describe, expect, it } from 'vitest';
import { stepOf, targetOf, TRANSITIONS } from '../src/manager/transitions.js';
import { RunBugError, TaskNotFoundError, TransitionError } from '../src/manager/errors.js';
import { TASK_STATUSES, TaskStatus } from '../src/types.js';

describe('transition table', () => {
  it('names only real statuses', () => {
    for (const row of Object.values(TRANSITIONS)) {
      for (const status of Object.keys(row)) expect(TASK_STATUSES).toContain(status);
    }
  });

  it('pauses a waiting task, stops a running one, and keeps a paused one', () => {
    expect(stepOf('pause', TaskStatus.waiting)).toMatchObject({ kind: 'set', status: TaskStatus.paused, phase: 'queued' });
    expect(stepOf('pause', TaskStatus.downloading)).toEqual({ kind: 'stop' });
    expect(stepOf('pause', TaskStatus.paused)).toEqual({ kind: 'stay' });
    expect(stepOf('pause', TaskStatus.completed)).toBeUndefined();
    expect(stepOf('pause', TaskStatus.failed)).toBeUndefined();
  });

  it('resumes paused and failed tasks to waiting, never a completed one; retries only failed ones', () => {
    for (const from of [TaskStatus.paused, TaskStatus.failed]) {
      expect(stepOf('resume', from)).toMatchObject({ kind: 'set', status: TaskStatus.waiting, clearError: true });
    }
    expect(stepOf('resume', TaskStatus.completed)).toBeUndefined();
    expect(stepOf('retry', TaskStatus.failed)).toMatchObject({ kind: 'set', status: TaskStatus.waiting });
    for (const from of TASK_STATUSES.filter((s) => s !== TaskStatus.failed)) expect(stepOf('retry', from)).toBeUndefined();
  });

  it('removes from every status and starts/finishes only along the queue', () => {
    for (const from of TASK_STATUSES) expect(stepOf('remove', from)).toBeDefined();
    expect(targetOf('start', TaskStatus.waiting)).toEqual({ status: TaskStatus.downloading, phase: 'resolving' });
    expect(targetOf('finish', TaskStatus.downloading)).toEqual({ status: TaskStatus.completed, phase: 'done' });
    expect(() => targetOf('start', TaskStatus.completed)).toThrow(/start from 已完成/);
  });
});

describe('manager errors', () => {
  it('carry stable codes and the standard cause', () => {
    const original = new Error('boom');
    expect(new TaskNotFoundError(3).code).toBe('ERR_TASK_NOT_FOUND');
    expect(new TransitionError(3, TaskStatus.completed, 'pause').message).toBe('cannot pause task 3: it is 已完成');
    const bug = new RunBugError(3, { cause: original });
    expect(bug.code).toBe('ERR_RUN_BUG');
    expect(bug.cause).toBe(original);
    expect(bug.message).not.toContain('boom');
  });
});
