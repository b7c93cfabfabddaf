// The status_bar formatter: one shape, two catalogues. Every phase (the live recorder's
// `recording` too) and every terminal status reads right in both languages.
import { describe, expect, it } from 'vitest';
import { langFromAcceptLanguage, statusBar, type StatusLineInput } from '../src/manager/progress-text.js';
import { TaskStatus } from '../src/types.js';

const base: StatusLineInput = { phase: 'downloading', segments_total: 5, segments_done: 3, segments_skipped: 0, downloaded_bytes: 3 << 20, speed_bps: 1.2 * 1024 * 1024, eta_s: 18 };
const line = (patch: Partial<StatusLineInput>, lang: 'en' | 'zh') => statusBar({ ...base, status: TaskStatus.downloading, ...patch }, lang);

describe('statusBar', () => {
  it('reads like the Go original in Chinese and keeps its English shape', () => {
    expect(line({}, 'zh')).toBe('[3/5]下载ts 速度 1.2MB/s 剩余时间 0:18');
    expect(line({}, 'en')).toBe('downloading · 3/5 segments · 3.0 MB · 1.2 MB/s · ETA 0:18');
    expect(statusBar(base)).toBe('downloading · 3/5 segments · 3.0 MB · 1.2 MB/s · ETA 0:18');
  });

  it('covers every phase and status in both languages', () => {
    const cases: [Partial<StatusLineInput>, string, string][] = [
      [{ status: TaskStatus.waiting, phase: 'queued' }, '等待中', 'queued'],
      [{ status: TaskStatus.waiting, phase: 'queued', start_time: '2030-01-01T02:30:00.000Z' }, '计划于 2030-01-01T02:30:00.000Z 开始', 'scheduled for 2030-01-01T02:30:00.000Z'],
      [{ phase: 'resolving', segments_total: 0, segments_done: 0, downloaded_bytes: 0 }, '解析播放列表', 'resolving playlist'],
      [{ phase: 'merging', speed_bps: 0, eta_s: null, merge_fraction: 0.4, segments_done: 5 }, '[5/5]合并中 已下载 3.0MB 40%', 'merging · 5/5 segments · 3.0 MB · 40%'],
      [{ phase: 'merging', speed_bps: 0, eta_s: null, progress: 97, segments_done: 5 }, '[5/5]合并中 已下载 3.0MB 40%', 'merging · 5/5 segments · 3.0 MB · 40%'],
      [{ status: TaskStatus.completed, phase: 'done', segments_done: 5, size: 4 << 20 }, '[5/5]已完成 已下载 4.0MB', 'done · 5/5 segments · 4.0 MB'],
      [{ status: TaskStatus.failed, err_msg: 'segment 4 (x.ts) answered HTTP 404' }, '失败: segment 4 (x.ts) answered HTTP 404', 'failed: segment 4 (x.ts) answered HTTP 404'],
      [{ status: TaskStatus.paused, speed_bps: 0, eta_s: null }, '[3/5]已暂停 已下载 3.0MB', 'paused · 3/5 segments · 3.0 MB'],
      // A recording (issue 14) shows its length, not its open-ended segment count.
      [{ phase: 'recording', segments_total: 42, segments_done: 42, eta_s: null, recorded_s: 751 }, '[00:12:31]录制中 速度 1.2MB/s', 'recording · 00:12:31 · 3.0 MB · 1.2 MB/s'],
      [{ segments_skipped: 2 }, '[3/5]下载ts 跳过 2 速度 1.2MB/s 剩余时间 0:18', 'downloading · 3/5 segments · (2 skipped) · 3.0 MB · 1.2 MB/s · ETA 0:18'],
    ];
    for (const [patch, zh, en] of cases) {
      expect(line(patch, 'zh'), JSON.stringify(patch)).toBe(zh);
      expect(line(patch, 'en'), JSON.stringify(patch)).toBe(en);
    }
  });

  it('takes Chinese only when the client puts it first', () => {
    expect(langFromAcceptLanguage('zh-CN,zh;q=0.9,en;q=0.8')).toBe('zh');
    expect(langFromAcceptLanguage('en;q=0.5, zh-TW')).toBe('zh');
    expect(langFromAcceptLanguage('en-US,en;q=0.9,zh-CN;q=0.8')).toBe('en');
    expect(langFromAcceptLanguage('*')).toBe('en');
    expect(langFromAcceptLanguage(undefined)).toBe('en');
    expect(langFromAcceptLanguage('zh;q=0, en')).toBe('en');
  });
});
