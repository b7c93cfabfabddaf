// HLS LANGUAGE attributes are RFC 5646 tags (`en`, `pt-BR`); MP4 stores only
// ISO 639-2 three-letter codes (ffmpeg drops anything else) and Matroska's
// classic Language element is ISO 639-2 too. This turns the primary subtag
// into the bibliographic ISO 639-2 code players show (`eng`, `fre`, `ger`).

/** ISO 639-1 → ISO 639-2/B for the languages streams are published in. */
const ISO_639_2B: Record<string, string> = {
  af: 'afr', am: 'amh', ar: 'ara', as: 'asm', az: 'aze', be: 'bel', bg: 'bul', bn: 'ben', bo: 'tib', bs: 'bos',
  ca: 'cat', cs: 'cze', cy: 'wel', da: 'dan', de: 'ger', el: 'gre', en: 'eng', eo: 'epo', es: 'spa', et: 'est',
  eu: 'baq', fa: 'per', fi: 'fin', fil: 'fil', fo: 'fao', fr: 'fre', ga: 'gle', gl: 'glg', gu: 'guj', he: 'heb',
  hi: 'hin', hr: 'hrv', hu: 'hun', hy: 'arm', id: 'ind', is: 'ice', it: 'ita', ja: 'jpn', jv: 'jav', ka: 'geo',
  kk: 'kaz', km: 'khm', kn: 'kan', ko: 'kor', ku: 'kur', ky: 'kir', la: 'lat', lb: 'ltz', lo: 'lao', lt: 'lit',
  lv: 'lav', mk: 'mac', ml: 'mal', mn: 'mon', mr: 'mar', ms: 'may', mt: 'mlt', my: 'bur', nb: 'nob', ne: 'nep',
  nl: 'dut', nn: 'nno', no: 'nor', pa: 'pan', pl: 'pol', ps: 'pus', pt: 'por', ro: 'rum', ru: 'rus', si: 'sin',
  sk: 'slo', sl: 'slv', so: 'som', sq: 'alb', sr: 'srp', sv: 'swe', sw: 'swa', ta: 'tam', te: 'tel', tg: 'tgk',
  th: 'tha', tl: 'tgl', tr: 'tur', uk: 'ukr', ur: 'urd', uz: 'uzb', vi: 'vie', yi: 'yid', yue: 'chi', zh: 'chi', zu: 'zul',
};

/** The ISO 639-2 code for an RFC 5646 tag, or undefined when it cannot be told (the tag then stays off). */
export function iso639_2(tag: string | undefined): string | undefined {
  if (!tag) return undefined;
  const primary = tag.toLowerCase().split('-')[0] ?? '';
  if (ISO_639_2B[primary]) return ISO_639_2B[primary];
  return /^[a-z]{3}$/.test(primary) ? primary : undefined;
}
