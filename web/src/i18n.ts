// Every word the page shows, in English and 简体中文, from one catalogue: components read
// `T.someKey`, index.html names keys in `data-t` attributes. The language comes from the
// switcher's remembered choice, else the browser's languages (zh first → Chinese).
// Adding a string: one key in `en`, the same key in `zh` (the type makes `zh` complete).
// Status names in Chinese are the compat API's own (等待中, 下载中, 已暂停, 已完成, 失败).

import type { FormOptionKey } from './types.js';

export type Lang = 'en' | 'zh';
/** A setting's words: every setting of the forms has an entry in each language. */
interface FieldWords {
  label: string;
  placeholder?: string;
  hint?: string;
}
const KEY = 'm3u8dm.lang';

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

const en = {
  htmlLang: 'en',
  title: 'm3u8dm · downloads',
  skipLink: 'Skip to content',
  views: 'Views',
  navList: 'Downloads',
  navNew: 'New download',
  navSettings: 'Settings',
  language: 'Language',
  tokenButton: 'Token',
  statsGroup: 'Downloads by status',
  live: { connecting: 'Connecting…', live: 'Live', polling: 'Reconnecting · refreshing every 3 s' },

  listTitle: 'Downloads',
  filterStatus: 'Status',
  filterAll: 'All',
  filterSearch: 'Search',
  searchPlaceholder: 'File name or URL',
  retryAll: 'Retry all failed',
  selectedGroup: 'Selected downloads',
  selectAll: 'Select all on this page',
  noneSelected: 'None selected',
  selected: (n: number) => `${n} selected`,
  colFile: 'File',
  colStatus: 'Status',
  colProgress: 'Progress',
  colSegments: 'Segments',
  colSize: 'Size',
  colSpeed: 'Speed',
  colEta: 'ETA',
  tasksLabel: 'Downloads',
  emptyNone: 'No downloads yet. Add one under “New download”.',
  emptyFiltered: 'No downloads match these filters.',
  pages: 'Pages',
  prev: 'Previous',
  next: 'Next',
  perPage: 'Per page',
  pageInfo: (first: number, last: number, total: number, page: number, pages: number) => `${first}–${last} of ${total} · page ${page} of ${pages}`,
  loadFailed: (message: string) => `Could not load the downloads: ${message}`,

  /** Status names by v1 status_text. */
  status: { pending: 'pending', running: 'running', completed: 'completed', failed: 'failed', paused: 'paused' },
  /** Stat buttons and filter options (capitalised in English). */
  statusTitle: { total: 'All', pending: 'Pending', running: 'Running', completed: 'Completed', failed: 'Failed', paused: 'Paused' },
  statSpeed: 'Speed',
  /** Beside the speed, when an overall limit is set. */
  statLimit: (speed: string) => `limit ${speed}`,
  showStatus: (label: string) => `Show ${label.toLowerCase()} downloads`,
  /** The badge while running, by phase. */
  phase: { queued: 'starting', resolving: 'resolving', downloading: 'downloading', merging: 'merging', done: 'done', recording: 'recording' },
  scheduled: 'scheduled',
  startsAt: (when: string) => `starts ${when}`,
  tomorrow: (time: string) => `tomorrow ${time}`,
  skippedCount: (n: number) => ` (+${n} skipped)`,
  /** A live task (issue 14): its stop ends the recording and keeps the file. */
  stopRecording: 'Stop',
  stopRecordingTitle: 'End the recording; what was recorded becomes the file',
  recordedFor: (clock: string) => `recorded ${clock}`,

  action: { stop: 'Pause', resume: 'Resume', retry: 'Retry', delete: 'Delete', download: 'Download', play: 'Play' },
  actionOn: (action: string, name: string) => `${action} ${name}`,
  selectOne: (name: string) => `Select ${name}`,
  progressOf: (name: string) => `Progress of ${name}`,
  thumbnailOf: (name: string) => `Poster frame of ${name}`,
  past: { stop: 'Paused', resume: 'Resumed', retry: 'Retrying' },
  confirmDelete: (name: string) => `Delete “${name}”? Its downloaded segments are removed; a finished file stays on disk.`,
  confirmDeleteMany: (n: number) => `Delete ${plural(n, 'download', 'downloads')}? Their downloaded segments are removed; finished files stay on disk.`,
  deleteN: (n: number) => `Delete ${n}`,
  deleted: (name: string) => `Deleted ${name}`,
  deletedN: (n: number) => `Deleted ${plural(n, 'download', 'downloads')}`,
  deleteFailed: (message: string) => `Delete failed: ${message}`,
  actionFailed: (action: string, message: string) => `${action} failed: ${message}`,
  batchDone: (verb: string, done: number, of: number, skipped: number) => `${verb} ${done} of ${of}${skipped ? ` (${skipped} not in a state that allows it)` : ''}`,
  retrying: (n: number) => (n ? `Retrying ${plural(n, 'failed download', 'failed downloads')}` : 'No failed downloads to retry'),
  retryAllFailed: (message: string) => `Retry all failed: ${message}`,
  cancel: 'Cancel',
  close: 'Close',
  playerTitle: (name: string) => `Playing ${name}`,
  playFailed: (message: string) => `Could not play the file: ${message}`,
  downloadFailed: (message: string) => `Could not download the file: ${message}`,

  newTitle: 'New download',
  urls: 'Playlist URLs',
  urlsHint: 'One per line; each becomes its own download. A web page that links an .m3u8 works too.',
  filename: 'File name',
  filenamePlaceholder: 'taken from the URL',
  filenameHint: '.mp4 is added when missing; with several URLs, _1, _2… are added.',
  curlSummary: 'Paste a curl command',
  curl: 'curl command',
  curlHint: 'From the browser’s developer tools: right-click the .m3u8 request → Copy → Copy as cURL. The URL and its headers (-H, -A, -e, -b) fill the form.',
  curlApply: 'Fill in from curl',
  curlFilled: (urls: number, headers: number) => `Filled in ${plural(urls, 'URL', 'URLs')} and ${plural(headers, 'header', 'headers')}.`,
  curlIgnored: (flags: string) => ` Ignored: ${flags}`,
  curlNoUrl: 'no URL found in the command',
  curlUnreadable: (message: string) => `Could not read that command: ${message}`,
  curlError: {
    unclosedAnsi: () => "a $'…' quote is not closed",
    unclosedSingle: () => 'a single quote is not closed',
    unclosedDouble: () => 'a double quote is not closed',
    needsValue: (flag: string) => `${flag} needs a value`,
  } as Record<'unclosedAnsi' | 'unclosedSingle' | 'unclosedDouble' | 'needsValue', (flag: string) => string>,
  headers: 'HTTP headers',
  headersHint: 'Sent with the playlist, key and segment requests (Referer, Cookie, User-Agent…).',
  addHeader: 'Add header',
  headerName: 'Header name',
  headerValue: 'Header value',
  headerNamePlaceholder: 'Name, e.g. Referer',
  headerValuePlaceholder: 'Value',
  removeHeader: 'Remove',
  removeHeaderLabel: 'Remove this header',
  headerNameMissing: 'Enter the header’s name, or clear its value.',
  advanced: 'Advanced settings',
  advancedHint: 'Start from the saved settings; only what you change here applies to this download.',
  schedule: 'Schedule',
  startAt: 'Start at',
  startAtHint: 'Local time of the service; the next time it is this late. Empty starts now.',
  submitNew: 'Add download',
  added: (n: number) => `Added ${plural(n, 'download', 'downloads')}`,
  urlsMissing: 'urls must hold at least one playlist URL, one per line',
  addFailed: (message: string) => `Could not add the download: ${message}`,
  line: (n: number) => `Line ${n}: `,

  settingsTitle: 'Settings',
  settingsHint: 'Defaults for every download added without its own advanced settings.',
  saveSettings: 'Save settings',
  settingsSaved: 'Settings saved',
  settingsLoadFailed: (message: string) => `Could not load the settings: ${message}`,
  sendToTitle: 'Send to m3u8dm',
  sendToHint: 'Drag this link to your bookmarks bar. On a page that plays a video, click the bookmark: this page opens with that page’s address filled in (m3u8dm finds the playlist on it) and the page as Referer; check it and press Add download.',
  sendToLink: 'Send to m3u8dm',
  sendToAddBefore: 'Browser extensions and phone shortcuts can open',
  sendToAddAfter: 'the same way: it fills in the form, it never adds a download by itself.',
  sendToDrag: 'Drag the link to your bookmarks bar, then click it on the page that plays the video',
  prefilled: 'Filled in from the link: check it and press Add download',
  saveFailed: (message: string) => `Could not save: ${message}`,
  fixField: 'Please correct the marked field.',
  fixFieldToo: 'Please also correct the marked field.',
  group: { output: 'Output', download: 'Download', proxy: 'Proxy', folders: 'Folders', limits: 'Limits' },
  field: {
    save_location: { label: 'Save location', placeholder: 'the download folder', hint: 'A folder inside the download folder (relative paths start there) or an allowed save root.' },
    temp_directory: { label: 'Temporary folder', placeholder: 'data folder/work', hint: 'Where segments wait until they are merged.' },
    download_threads: { label: 'Threads', hint: 'Segments downloaded at once, 1–128.' },
    skip_ts_info: { label: 'Skip segments', placeholder: 'e.g. 1-3,http.code=404' },
    proxy_type: { label: 'Proxy' },
    proxy_host: { label: 'Proxy host' },
    proxy_port: { label: 'Proxy port' },
    proxy_username: { label: 'Proxy user' },
    proxy_password: { label: 'Proxy password', placeholder: 'leave blank to keep the saved one', hint: 'Never shown again once saved.' },
    allow_insecure_https: { label: 'Allow insecure HTTPS (skip certificate checks)' },
    keep_ts_files: { label: 'Keep the segments after merging' },
    use_server_file_time: { label: "Use the server's file time for the output" },
    no_merge_ts: { label: 'Do not merge (keep segments only)' },
    debug_log: { label: 'Write a debug log' },
    log_skipped_ts: { label: 'List skipped segments next to the output' },
    variant: { label: 'Variant', placeholder: 'best', hint: 'For master playlists: best, worst, or the tallest at most this many pixels high (e.g. 720).' },
    format: { label: 'Format' },
    max_speed: { label: 'Speed limit', placeholder: 'unlimited', hint: 'For this download, under the overall limit: e.g. 500K or 2M (per second).' },
    max_download_speed: { label: 'Overall speed limit', placeholder: 'unlimited', hint: 'Shared fairly by all running downloads: e.g. 500K, 5M or 1.5MB (per second). Applies at once.' },
    max_connections_per_host: { label: 'Connections per server', placeholder: 'no limit', hint: 'Requests at once to one server, all downloads together; 0 = only Threads applies.' },
  } as Record<FormOptionKey, FieldWords>,
  noProxy: 'No proxy',
  skipGrammarIntro: 'Comma-separated parts:',
  skipGrammar: [
    ['N or A-B', 'segment numbers, 1-based, inclusive (e.g. 1-3)'],
    ['http.code=403', 'a segment answering 403 is skipped instead of failing the download'],
    ['time:HH:MM:SS-HH:MM:SS', 'skip the segments inside this window'],
    ['!time:HH:MM:SS-HH:MM:SS', 'keep only the segments overlapping it'],
  ] as [string, string][],

  confirmOk: 'Delete',
  tokenTitle: 'Access token',
  token: 'Token',
  tokenContinue: 'Continue',
  tokenAsk: 'This service needs an access token (M3U8DM_TOKEN). It is kept in this browser.',
  tokenRefused: 'That token was not accepted. Enter the token the service was started with (M3U8DM_TOKEN).',
  unreachable: (message: string) => `cannot reach the service (${message})`,
  unexpected: (status: number) => `unexpected answer: HTTP ${status}`,
};

export type Catalogue = typeof en;

const zh: Catalogue = {
  htmlLang: 'zh-CN',
  title: 'm3u8dm · 下载',
  skipLink: '跳到内容',
  views: '视图',
  navList: '下载列表',
  navNew: '新建下载',
  navSettings: '设置',
  language: '语言',
  tokenButton: '令牌',
  statsGroup: '按状态统计',
  live: { connecting: '连接中…', live: '实时', polling: '重新连接中 · 每 3 秒刷新' },

  listTitle: '下载列表',
  filterStatus: '状态',
  filterAll: '全部',
  filterSearch: '搜索',
  searchPlaceholder: '文件名或 URL',
  retryAll: '重试全部失败任务',
  selectedGroup: '已选任务',
  selectAll: '全选本页',
  noneSelected: '未选择',
  selected: (n) => `已选 ${n} 个`,
  colFile: '文件',
  colStatus: '状态',
  colProgress: '进度',
  colSegments: '分片',
  colSize: '大小',
  colSpeed: '速度',
  colEta: '剩余时间',
  tasksLabel: '下载列表',
  emptyNone: '还没有下载任务。在“新建下载”中添加一个。',
  emptyFiltered: '没有符合筛选条件的任务。',
  pages: '分页',
  prev: '上一页',
  next: '下一页',
  perPage: '每页',
  pageInfo: (first, last, total, page, pages) => `第 ${first}–${last} 个,共 ${total} 个 · 第 ${page}/${pages} 页`,
  loadFailed: (message) => `无法加载下载列表:${message}`,

  status: { pending: '等待中', running: '下载中', completed: '已完成', failed: '失败', paused: '已暂停' },
  statusTitle: { total: '全部', pending: '等待中', running: '下载中', completed: '已完成', failed: '失败', paused: '已暂停' },
  statSpeed: '速度',
  statLimit: (speed) => `限速 ${speed}`,
  showStatus: (label) => `只看“${label}”的任务`,
  phase: { queued: '启动中', resolving: '解析中', downloading: '下载中', merging: '合并中', done: '已完成', recording: '录制中' },
  scheduled: '已计划',
  startsAt: (when) => `${when} 开始`,
  tomorrow: (time) => `明天 ${time}`,
  skippedCount: (n) => `(跳过 ${n})`,
  stopRecording: '停止',
  stopRecordingTitle: '结束录制,已录制的内容保存为文件',
  recordedFor: (clock) => `已录制 ${clock}`,

  action: { stop: '暂停', resume: '继续', retry: '重试', delete: '删除', download: '下载', play: '播放' },
  actionOn: (action, name) => `${action} ${name}`,
  selectOne: (name) => `选择 ${name}`,
  progressOf: (name) => `${name} 的进度`,
  thumbnailOf: (name) => `${name} 的封面`,
  past: { stop: '已暂停', resume: '已继续', retry: '正在重试' },
  confirmDelete: (name) => `删除“${name}”?已下载的分片会被删除;已完成的文件保留在磁盘上。`,
  confirmDeleteMany: (n) => `删除 ${n} 个任务?已下载的分片会被删除;已完成的文件保留在磁盘上。`,
  deleteN: (n) => `删除 ${n} 个`,
  deleted: (name) => `已删除 ${name}`,
  deletedN: (n) => `已删除 ${n} 个任务`,
  deleteFailed: (message) => `删除失败:${message}`,
  actionFailed: (action, message) => `${action}失败:${message}`,
  batchDone: (verb, done, of, skipped) => `${verb} ${done}/${of} 个${skipped ? `(${skipped} 个当前状态不允许)` : ''}`,
  retrying: (n) => (n ? `正在重试 ${n} 个失败任务` : '没有需要重试的失败任务'),
  retryAllFailed: (message) => `重试全部失败:${message}`,
  cancel: '取消',
  close: '关闭',
  playerTitle: (name) => `正在播放 ${name}`,
  playFailed: (message) => `无法播放该文件:${message}`,
  downloadFailed: (message) => `无法下载该文件:${message}`,

  newTitle: '新建下载',
  urls: '播放列表 URL',
  urlsHint: '每行一个,每个 URL 是一个单独的下载。也可以填链接了 .m3u8 的网页。',
  filename: '文件名',
  filenamePlaceholder: '从 URL 获取',
  filenameHint: '缺少时自动加上 .mp4;多个 URL 时依次加上 _1、_2…',
  curlSummary: '粘贴 curl 命令',
  curl: 'curl 命令',
  curlHint: '在浏览器开发者工具中:右键 .m3u8 请求 → 复制 → 复制为 cURL。URL 和请求头(-H、-A、-e、-b)会填入表单。',
  curlApply: '从 curl 填写',
  curlFilled: (urls, headers) => `已填入 ${urls} 个 URL 和 ${headers} 个请求头。`,
  curlIgnored: (flags) => ` 已忽略:${flags}`,
  curlNoUrl: '命令中没有找到 URL',
  curlUnreadable: (message) => `无法读取该命令:${message}`,
  curlError: {
    unclosedAnsi: () => "$'…' 引号没有闭合",
    unclosedSingle: () => '单引号没有闭合',
    unclosedDouble: () => '双引号没有闭合',
    needsValue: (flag) => `${flag} 后面需要一个值`,
  },
  headers: 'HTTP 请求头',
  headersHint: '随播放列表、密钥和分片请求一起发送(Referer、Cookie、User-Agent…)。',
  addHeader: '添加请求头',
  headerName: '请求头名称',
  headerValue: '请求头的值',
  headerNamePlaceholder: '名称,例如 Referer',
  headerValuePlaceholder: '值',
  removeHeader: '移除',
  removeHeaderLabel: '移除这个请求头',
  headerNameMissing: '请填写请求头名称,或清空它的值。',
  advanced: '高级设置',
  advancedHint: '以保存的设置为起点;这里改动的项只对本次下载生效。',
  schedule: '计划',
  startAt: '开始时间',
  startAtHint: '服务所在地的时间;下一次到这个时间时开始。留空则立即开始。',
  submitNew: '添加下载',
  added: (n) => `已添加 ${n} 个下载`,
  urlsMissing: 'urls 至少需要一个播放列表 URL,每行一个',
  addFailed: (message) => `无法添加下载:${message}`,
  line: (n) => `第 ${n} 行:`,

  settingsTitle: '设置',
  settingsHint: '没有自己高级设置的下载都使用这些默认值。',
  saveSettings: '保存设置',
  settingsSaved: '设置已保存',
  settingsLoadFailed: (message) => `无法加载设置:${message}`,
  sendToTitle: '发送到 m3u8dm',
  sendToHint: '把这个链接拖到书签栏。在播放视频的页面上点击该书签:本页会打开,并已填好那个页面的地址(m3u8dm 会在页面中找到播放列表)和作为 Referer 的页面地址;确认后点击“添加下载”。',
  sendToLink: '发送到 m3u8dm',
  sendToAddBefore: '浏览器扩展和手机快捷指令可以同样打开',
  sendToAddAfter: ':它只填写表单,不会自行添加下载。',
  sendToDrag: '请把链接拖到书签栏,然后在播放视频的页面上点击它',
  prefilled: '已根据链接填好:请检查后点击“添加下载”',
  saveFailed: (message) => `无法保存:${message}`,
  fixField: '请修改标出的字段。',
  fixFieldToo: '另外请修改标出的字段。',
  group: { output: '输出', download: '下载', proxy: '代理', folders: '文件夹', limits: '限制' },
  field: {
    save_location: { label: '保存位置', placeholder: '下载文件夹', hint: '下载文件夹内的文件夹(相对路径从那里开始),或允许的保存根目录。' },
    temp_directory: { label: '临时文件夹', placeholder: '数据文件夹/work', hint: '分片在合并前存放的位置。' },
    download_threads: { label: '线程数', hint: '同时下载的分片数,1–128。' },
    skip_ts_info: { label: '跳过分片', placeholder: '例如 1-3,http.code=404' },
    proxy_type: { label: '代理' },
    proxy_host: { label: '代理主机' },
    proxy_port: { label: '代理端口' },
    proxy_username: { label: '代理用户名' },
    proxy_password: { label: '代理密码', placeholder: '留空则保留已保存的密码', hint: '保存后不再显示。' },
    allow_insecure_https: { label: '允许不安全的 HTTPS(跳过证书检查)' },
    keep_ts_files: { label: '合并后保留分片' },
    use_server_file_time: { label: '输出文件使用服务器的文件时间' },
    no_merge_ts: { label: '不合并(只保留分片)' },
    debug_log: { label: '写调试日志' },
    log_skipped_ts: { label: '在输出旁列出跳过的分片' },
    variant: { label: '清晰度', placeholder: 'best', hint: '用于主播放列表:best(最高)、worst(最低),或不超过这个像素高度的最高一档(例如 720)。' },
    format: { label: '格式' },
    max_speed: { label: '限速', placeholder: '不限', hint: '此下载自己的速度上限(在总限速之内):例如 500K 或 2M(每秒)。' },
    max_download_speed: { label: '总限速', placeholder: '不限', hint: '所有正在下载的任务公平分享:例如 500K、5M 或 1.5MB(每秒)。立即生效。' },
    max_connections_per_host: { label: '每台服务器的连接数', placeholder: '不限', hint: '所有下载合计、同时发往同一台服务器的请求数;0 = 只按线程数。' },
  },
  noProxy: '不使用代理',
  skipGrammarIntro: '用逗号分隔的各部分:',
  skipGrammar: [
    ['N 或 A-B', '分片序号,从 1 开始,包含两端(例如 1-3)'],
    ['http.code=403', '返回 403 的分片被跳过,而不是让下载失败'],
    ['time:HH:MM:SS-HH:MM:SS', '跳过这个时间段内的分片'],
    ['!time:HH:MM:SS-HH:MM:SS', '只保留与这个时间段重叠的分片'],
  ],

  confirmOk: '删除',
  tokenTitle: '访问令牌',
  token: '令牌',
  tokenContinue: '继续',
  tokenAsk: '此服务需要访问令牌(M3U8DM_TOKEN)。它会保存在这个浏览器中。',
  tokenRefused: '令牌不正确。请输入服务启动时使用的令牌(M3U8DM_TOKEN)。',
  unreachable: (message) => `无法连接服务(${message})`,
  unexpected: (status) => `意外的应答:HTTP ${status}`,
};

const CATALOGUES: Record<Lang, Catalogue> = { en, zh };

function storedLang(): Lang | null {
  try {
    const value = typeof localStorage === 'undefined' ? null : localStorage.getItem(KEY);
    return value === 'en' || value === 'zh' ? value : null;
  } catch {
    return null;
  }
}

/** The browser's first language that we have: zh-* → Chinese, en-* → English. */
export function langFromBrowser(languages: readonly string[]): Lang {
  for (const tag of languages) {
    const lower = tag.toLowerCase();
    if (lower === 'zh' || lower.startsWith('zh-')) return 'zh';
    if (lower === 'en' || lower.startsWith('en-')) return 'en';
  }
  return 'en';
}

function browserLanguages(): readonly string[] {
  // Outside a browser (the parsers' unit tests import modules that import this one) there is none.
  if (typeof navigator === 'undefined') return [];
  return navigator.languages.length ? navigator.languages : [navigator.language];
}

export const lang: Lang = storedLang() ?? langFromBrowser(browserLanguages());

/** The catalogue of the page's language. */
export const T: Catalogue = CATALOGUES[lang];

/** Remembers the choice and reloads, so every string (built or static) is in the new language. */
export function switchLang(next: Lang): void {
  try {
    localStorage.setItem(KEY, next);
  } catch {
    // Not remembered then; the reload still shows the browser's language.
  }
  location.reload();
}

function text(key: string): string {
  const value = (T as Record<string, unknown>)[key];
  if (typeof value !== 'string') throw new Error(`no page string "${key}"`);
  return value;
}

/**
 * Fills index.html's fixed strings: `data-t` (text), `data-t-placeholder`, `data-t-label`
 * (aria-label), `data-t-title`. A dotted key reaches into a group (`status.pending`).
 */
export function translatePage(root: ParentNode = document): void {
  const lookup = (key: string) => {
    const [head, sub] = key.split('.');
    if (sub === undefined) return text(head!);
    const group = (T as Record<string, unknown>)[head!] as Record<string, string> | undefined;
    const value = group?.[sub];
    if (typeof value !== 'string') throw new Error(`no page string "${key}"`);
    return value;
  };
  for (const el of Array.from(root.querySelectorAll<HTMLElement>('[data-t]'))) el.textContent = lookup(el.dataset.t!);
  for (const el of Array.from(root.querySelectorAll<HTMLElement>('[data-t-placeholder]'))) el.setAttribute('placeholder', lookup(el.dataset.tPlaceholder!));
  for (const el of Array.from(root.querySelectorAll<HTMLElement>('[data-t-label]'))) el.setAttribute('aria-label', lookup(el.dataset.tLabel!));
  for (const el of Array.from(root.querySelectorAll<HTMLElement>('[data-t-title]'))) el.setAttribute('title', lookup(el.dataset.tTitle!));
  document.documentElement.lang = T.htmlLang;
  document.title = T.title;
}
