// @ts-check
/**
 * TypeDoc: the API reference of the published packages, from their TSDoc comments, as HTML into
 * public/api (served at /api/). Runs before `vitepress build` (see package.json). Validation is on
 * and its warnings are errors, so an exported symbol without a comment, a broken {@link} or an
 * exported type that is used but not exported fails the docs build.
 */

/**
 * The packages, in dependency order (a symbol one package re-exports from another is documented under the one that
 * defines it: `loadImage` under datasets, `tf` under tensor). `@cnn/cli` is a command with no API: its guide is on
 * the site.
 */
const PACKAGES = ['tensor', 'layers', 'datasets', 'models-classic', 'models-efficient', 'train'];

/**
 * Rows of the architecture tables (`as const` data: ResNet depths, VGG configs, MobileNetV3 rows,
 * ShuffleNet widths). Each table has a comment saying what its rows mean; TypeDoc would otherwise
 * ask for a comment on every key of every row.
 */
const TABLE_ROWS = [
  ...['vgg11', 'vgg13', 'vgg16', 'vgg19'].map((k) => `@cnn/models-classic.VGG_CONFIGS.__type.${k}`),
  ...[18, 34, 50, 101, 152].flatMap((d) => [
    `@cnn/models-classic.RESNET_DEPTHS.__type.${d}`,
    `@cnn/models-classic.RESNET_DEPTHS.__type.${d}.__type.block`,
    `@cnn/models-classic.RESNET_DEPTHS.__type.${d}.__type.layers`,
  ]),
  ...['large', 'small'].flatMap((s) => [
    `@cnn/models-efficient.MOBILENET_V3_ARCH.__type.${s}`,
    `@cnn/models-efficient.MOBILENET_V3_ARCH.__type.${s}.__type.last`,
    `@cnn/models-efficient.MOBILENET_V3_ARCH.__type.${s}.__type.rows`,
  ]),
  ...[1, 2, 3, 4, 8].map((g) => `@cnn/models-efficient.SHUFFLENET_V1_CHANNELS.__type.${g}`),
  ...['0.5', '1.0', '1.5', '2.0'].map((w) => `@cnn/models-efficient.SHUFFLENET_V2_CHANNELS.__type.${w}`),
];

/** @type {Partial<import('typedoc').TypeDocOptions>} */
const config = {
  name: 'cnn API reference',
  tsconfig: './typedoc.tsconfig.json',
  entryPointStrategy: 'resolve',
  entryPoints: PACKAGES.map((p) => `../../packages/${p}/src/index.ts`),
  readme: './scripts/api-readme.md',
  out: 'public/api',
  excludeExternals: true,
  excludePrivate: true,
  excludeInternal: true,
  githubPages: false,
  disableGit: true,
  disableSources: true,
  packagesRequiringDocumentation: PACKAGES.map((p) => `@cnn/${p}`),
  intentionallyNotDocumented: TABLE_ROWS,
  validation: { notExported: true, invalidLink: true, notDocumented: true },
  treatValidationWarningsAsErrors: true,
  treatWarningsAsErrors: true,
  logLevel: 'Warn',
  // The site's look (scripts/typedoc-site-theme.mjs, scripts/site-theme.css) and its navigation: the title goes to
  // the site's home page, the toolbar links to its sections.
  plugin: ['./scripts/typedoc-site-theme.mjs'],
  customCss: './scripts/site-theme.css',
  titleLink: '/',
  navigationLinks: {
    Guide: '/guide/getting-started',
    Tutorials: '/tutorials/classification',
    'Model zoo': '/models/zoo',
    中文: '/zh/',
  },
};

export default config;
