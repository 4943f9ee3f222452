// Links a crawler should not spend a fetch on: the file extension of the URL
// path says the resource is not a page. Firecrawl drops the same kinds of
// links before fetching; fetching them would cost a capture slot, bandwidth
// up to the body cap, and a page row holding nothing readable.
//
// Only the last path segment's extension is looked at (case-insensitive); the
// query and fragment are ignored, so `/logo.png?v=3` is skipped and
// `/download?file=a.zip` is not (a script URL that may well answer HTML).
//
// PDF is deliberately NOT on the list: Firecrawl crawls PDFs, and a crawl's
// user expects to see them as pages (we store them with an empty markdown,
// see fetchPage.ts, rather than silently leaving them out). Documents that are
// usually text-bearing (.doc, .docx, .odt, .xls…) are skipped: they are
// binary, we do not parse them, and they are far more often attachments than
// content. No import: safe for workflow code, like urls.ts.

const NON_PAGE_EXTENSIONS = new Set([
  // images
  'png',
  'jpg',
  'jpeg',
  'jpe',
  'gif',
  'webp',
  'avif',
  'bmp',
  'ico',
  'cur',
  'tif',
  'tiff',
  'svg',
  'svgz',
  'heic',
  'heif',
  'psd',
  'raw',
  'cr2',
  'nef',
  'jxl',
  // audio and video
  'mp3',
  'wav',
  'ogg',
  'oga',
  'flac',
  'aac',
  'm4a',
  'opus',
  'wma',
  'mid',
  'midi',
  'mp4',
  'm4v',
  'webm',
  'ogv',
  'mov',
  'avi',
  'mkv',
  'wmv',
  'flv',
  'mpg',
  'mpeg',
  '3gp',
  'm3u8',
  'ts',
  // fonts
  'woff',
  'woff2',
  'ttf',
  'otf',
  'eot',
  // page assets and source maps
  'css',
  'js',
  'mjs',
  'cjs',
  'map',
  'wasm',
  // archives and packages
  'zip',
  'gz',
  'tgz',
  'bz2',
  'xz',
  'zst',
  '7z',
  'rar',
  'tar',
  'jar',
  'war',
  'apk',
  'ipa',
  'deb',
  'rpm',
  'dmg',
  'iso',
  'img',
  'msi',
  'exe',
  'bin',
  'dll',
  'so',
  // office documents we do not parse
  'doc',
  'docx',
  'xls',
  'xlsx',
  'ppt',
  'pptx',
  'odt',
  'ods',
  'odp',
  'rtf',
  'epub',
  // data dumps
  'csv',
  'tsv',
  'parquet',
  'sqlite',
  'db',
]);

/** The lower-case extension of the URL's last path segment, or null when it has none. */
export function urlExtension(url: string): string | null {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return null;
  }
  const segment = path.slice(path.lastIndexOf('/') + 1);
  const dot = segment.lastIndexOf('.');
  // `.htaccess`-style names (dot first) have no extension.
  if (dot <= 0 || dot === segment.length - 1) return null;
  let ext = segment.slice(dot + 1).toLowerCase();
  try {
    ext = decodeURIComponent(ext);
  } catch {
    // A broken escape is no extension we know.
  }
  return ext;
}

/**
 * True when the URL's path ends in an extension of a resource that is not a
 * page (images, media, fonts, CSS/JS, archives, binaries, office files, data
 * dumps). Not for .pdf, .html, .php, .xml, .txt, .json or no extension. An
 * unparseable URL is not judged here (false): normalization rejects it.
 */
export function isLikelyNonPage(url: string): boolean {
  const ext = urlExtension(url);
  return ext !== null && NON_PAGE_EXTENSIONS.has(ext);
}
