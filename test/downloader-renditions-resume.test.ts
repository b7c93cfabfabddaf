// A resumed download keeps the renditions it started with: several audio
// tracks (option `audio`) and the subtitle renditions come back from the work
// folder with their names, languages and DEFAULT flag, and the finished
// segments are not fetched again. Real fixtures over real HTTP.
import { describe, expect, it } from 'vitest';
import { downloadStream } from '../src/downloader/index.js';
import { useDownloaderHarness } from './helpers/downloader-harness.js';

const { serve, request } = useDownloaderHarness();

describe('downloader: renditions on resume', () => {
  it('a second run on the same work folder reuses the saved audio tracks, fetching nothing again', async () => {
    const { server } = await serve('packed-audio');
    const req = await request(server.url('master.m3u8'), { audio: 'all' });
    const first = await downloadStream(req);
    expect(first.audioTracks?.map((t) => [t.language, t.name, t.isDefault])).toEqual([['en', 'English', true], ['fr', 'Français', false]]);
    const before = server.requests.length;
    const again = await downloadStream({ ...req, signal: new AbortController().signal });
    expect(server.requests.slice(before).map((r) => r.path)).toEqual([]);
    expect(again.audioTracks?.map((t) => [t.language, t.name, t.isDefault, t.segments.length])).toEqual(
      first.audioTracks?.map((t) => [t.language, t.name, t.isDefault, t.segments.length]),
    );
  });

  it('a second run keeps the subtitle renditions, fetching only their small WebVTT segments again', async () => {
    const { server } = await serve('subtitles');
    const req = await request(server.url('master.m3u8'));
    const first = await downloadStream(req);
    expect(first.subtitles?.map((t) => [t.language, t.isDefault, t.cues.length])).toEqual([['en', true, 3], ['fr', false, 3]]);
    const before = server.requests.length;
    const again = await downloadStream({ ...req, signal: new AbortController().signal });
    expect(server.requests.slice(before).every((r) => r.path.endsWith('.vtt'))).toBe(true);
    expect(again.subtitles).toEqual(first.subtitles);
  });
});
