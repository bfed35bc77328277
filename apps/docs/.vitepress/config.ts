import { defineConfig, type DefaultTheme, type UserConfig } from 'vitepress';
import { ISOLATION_HEADERS } from '../scripts/serve.mjs';

/** A plugin of the Vite that VitePress runs (its own copy, not the workspace's newer `vite`). */
type Plugin = Extract<NonNullable<NonNullable<UserConfig['vite']>['plugins']>[number], { name: string }>;

/**
 * Sends COOP `same-origin` + COEP `require-corp` from the dev server, so that pages are cross-origin
 * isolated and tfjs's wasm backend can start its threads. VitePress serves its pages from its own
 * middleware and ignores `vite.server.headers` for them; a middleware registered here runs before
 * VitePress's and sets the headers on every response, pages included. (`vitepress preview` uses a
 * server of its own that no plugin reaches: `npm run docs:preview` runs scripts/serve.mjs instead.)
 */
function crossOriginIsolation(): Plugin {
  return {
    name: 'cnn-docs:cross-origin-isolation',
    configureServer(server) {
      server.middlewares.use((_req, res, next) => {
        for (const [name, value] of Object.entries(ISOLATION_HEADERS)) res.setHeader(name, value);
        next();
      });
    },
  };
}

/** The model family pages under models/ (and zh/models/), in the seed's order, with their sidebar titles. */
const FAMILY_PAGES: Array<[page: string, title: string]> = [
  ['lenet', 'LeNet-5'],
  ['alexnet', 'AlexNet'],
  ['vgg', 'VGG'],
  ['googlenet', 'GoogLeNet (Inception)'],
  ['resnet', 'ResNet'],
  ['resnext', 'ResNeXt'],
  ['senet', 'SENet'],
  ['mobilenet', 'MobileNet V1/V2/V3'],
  ['shufflenet', 'ShuffleNet V1/V2'],
];

function english(): DefaultTheme.Config {
  return {
    nav: [
      { text: 'Guide', link: '/guide/getting-started', activeMatch: '/guide/' },
      { text: 'Tutorials', link: '/tutorials/classification', activeMatch: '/tutorials/' },
      { text: 'Model zoo', link: '/models/zoo', activeMatch: '/models/' },
      // TypeDoc's HTML, outside the VitePress app: `target` makes the link a full page load.
      { text: 'API', link: '/api/index.html', target: '_self' },
    ],
    sidebar: [
      {
        text: 'Guide',
        items: [
          { text: 'Getting started', link: '/guide/getting-started' },
          { text: 'Hosting and threads', link: '/guide/hosting' },
          { text: 'Pretrained weights', link: '/guide/pretrained' },
          { text: 'Fast inference', link: '/guide/fast-inference' },
          { text: 'Loading PyTorch weights', link: '/guide/pytorch-weights' },
          { text: 'Moving a run to PyTorch and back', link: '/guide/pytorch-handover' },
          { text: 'Fine-tuning', link: '/guide/fine-tuning' },
          { text: 'Training from the command line', link: '/guide/cli' },
          { text: 'Reliability and limits', link: '/guide/reliability' },
          { text: 'Benchmarks', link: '/guide/benchmarks' },
        ],
      },
      {
        text: 'Tutorials',
        items: [
          { text: 'Classification and gradient descent', link: '/tutorials/classification' },
          { text: 'Backpropagation', link: '/tutorials/backprop' },
          { text: 'Multi-layer perceptrons', link: '/tutorials/mlp' },
          { text: 'Convolution', link: '/tutorials/convolution' },
          { text: 'Layers', link: '/tutorials/layers' },
          { text: 'Train in the browser', link: '/tutorials/train-in-browser' },
        ],
      },
      {
        text: 'Models',
        items: [
          { text: 'Model zoo', link: '/models/zoo' },
          ...FAMILY_PAGES.map(([page, text]) => ({ text, link: `/models/${page}` })),
        ],
      },
    ],
    outline: { level: [2, 3] },
  };
}

function chinese(): DefaultTheme.Config {
  return {
    nav: [
      { text: '指南', link: '/zh/guide/getting-started', activeMatch: '/zh/guide/' },
      { text: '教程', link: '/zh/tutorials/classification', activeMatch: '/zh/tutorials/' },
      { text: '模型库', link: '/zh/models/zoo', activeMatch: '/zh/models/' },
      { text: 'API（英文）', link: '/api/index.html', target: '_self' },
    ],
    sidebar: [
      {
        text: '指南',
        items: [
          { text: '快速上手', link: '/zh/guide/getting-started' },
          { text: '部署与多线程', link: '/zh/guide/hosting' },
          { text: '预训练权重', link: '/zh/guide/pretrained' },
          { text: '快速推理', link: '/zh/guide/fast-inference' },
          { text: '加载 PyTorch 权重', link: '/zh/guide/pytorch-weights' },
          { text: '迁移到 PyTorch 并迁回', link: '/zh/guide/pytorch-handover' },
          { text: '微调', link: '/zh/guide/fine-tuning' },
          { text: '命令行训练', link: '/zh/guide/cli' },
          { text: '可靠性与限制', link: '/zh/guide/reliability' },
          { text: '基准测试', link: '/zh/guide/benchmarks' },
        ],
      },
      {
        text: '教程',
        items: [
          { text: '分类问题与梯度下降', link: '/zh/tutorials/classification' },
          { text: '反向传播', link: '/zh/tutorials/backprop' },
          { text: '多层感知机', link: '/zh/tutorials/mlp' },
          { text: '卷积', link: '/zh/tutorials/convolution' },
          { text: '常用层', link: '/zh/tutorials/layers' },
          { text: '在浏览器中训练', link: '/zh/tutorials/train-in-browser' },
        ],
      },
      {
        text: '模型',
        items: [
          { text: '模型库', link: '/zh/models/zoo' },
          ...FAMILY_PAGES.map(([page, text]) => ({ text, link: `/zh/models/${page}` })),
        ],
      },
    ],
    outline: { level: [2, 3], label: '本页目录' },
    docFooter: { prev: '上一页', next: '下一页' },
    darkModeSwitchLabel: '外观',
    sidebarMenuLabel: '菜单',
    returnToTopLabel: '回到顶部',
    langMenuLabel: '切换语言',
  };
}

export default defineConfig({
  title: 'cnn',
  srcExclude: ['README.md', 'test/**', 'test-results/**', 'examples/**', 'scripts/**'],
  lastUpdated: false,
  // The API reference (public/api) is TypeDoc's HTML, written before the VitePress build; no page of VitePress's.
  ignoreDeadLinks: [/^\/api\//],
  head: [['link', { rel: 'icon', type: 'image/svg+xml', href: '/favicon.svg' }]],
  locales: {
    root: {
      label: 'English',
      lang: 'en-US',
      description: 'Build, train, run and understand CNN image classifiers in JavaScript, in Node and in the browser.',
      themeConfig: english(),
    },
    zh: {
      label: '简体中文',
      lang: 'zh-CN',
      link: '/zh/',
      description: '用 JavaScript 构建、训练、运行并理解 CNN 图像分类网络，Node 与浏览器皆可。',
      themeConfig: chinese(),
    },
  },
  themeConfig: {
    search: { provider: 'local' },
  },
  vite: {
    plugins: [crossOriginIsolation()],
    // Pre-bundle tfjs when the dev server starts, not when a page first imports it (which would
    // make Vite reload that page).
    optimizeDeps: {
      include: [
        '@tensorflow/tfjs-core',
        '@tensorflow/tfjs-core/dist/register_all_gradients',
        '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops',
        '@tensorflow/tfjs-backend-cpu',
        '@tensorflow/tfjs-backend-wasm',
      ],
    },
    build: {
      // tfjs-core is one large chunk, loaded only when a page computes something.
      chunkSizeWarningLimit: 2500,
    },
  },
});
