// The words of the lesson components (training in the browser, XOR, approximation, pooling on an image), per
// locale; kept apart from i18n.ts so that each group of components owns its strings.
import { computed, type ComputedRef } from 'vue';
import { useData } from 'vitepress';

const en = {
  train: 'Train',
  trainAgain: 'Train again',
  training: 'Training…',
  loading: 'loading the sample…',
  epochs: 'epochs',
  batchSize: 'batch size',
  images: 'images',
  imagesOf: (train: number, test: number) => (train === 3000 ? 'all (3,000 + 1,000 test)' : `${train} + ${test} test`),
  lr: 'learning rate',
  loss: 'training loss (per step)',
  accuracy: 'accuracy',
  trainAcc: 'train (per step)',
  testAcc: 'test (per epoch)',
  step: 'step',
  epochOf: (e: number, n: number) => `epoch ${e}/${n}`,
  result: (acc: string, s: string, imgs: string) => `test top-1 ${acc} after ${s} s of training (${imgs} images/s)`,
  on: (backend: string, simd: boolean, threads: number) =>
    `on ${backend}, SIMD ${simd ? 'on' : 'off'}, ${threads} thread${threads === 1 ? '' : 's'}`,
  onDevice: (device: string) => `on ${device}`,
  backend: 'backend',
  wasmChoice: 'WebAssembly (CPU)',
  webgpuChoice: 'WebGPU (GPU)',
  webgpuChecking: 'checking whether this browser offers WebGPU…',
  webgpuMissing: {
    'no-webgpu':
      'WebGPU is off: this browser has no navigator.gpu (Chrome and Edge 113+, Safari 26+, Firefox 141+ on Windows have it, on https:// or localhost pages)',
    'no-adapter':
      'WebGPU is off: the browser has WebGPU but gives no adapter (no GPU, a GPU on its block list, or hardware acceleration switched off)',
  } as Record<'no-webgpu' | 'no-adapter', string>,
  confusion: 'Confusion matrix (rows: true class, columns: predicted)',
  predictions: 'Test images and predictions (click one to see its feature maps)',
  filters: 'First-layer filters (conv1, 6 of 5x5; red positive, blue negative)',
  maps: (c: string) => `conv1 feature maps (after tanh) of the selected test image, a “${c}”`,
  run: 'Run',
  width: 'hidden units',
  target: 'target',
  mse: 'MSE',
  original: 'original 28x28',
  maxPool: (n: number) => `max pool → ${n}x${n}`,
  avgPool: (n: number) => `average pool → ${n}x${n}`,
  image: 'image',
  prediction: 'prediction',
  loadingWeights: 'loading the trained LeNet-5 and the pictures…',
  truth: 'true class',
  rightOf: (right: number, n: number) => `${right} of ${n} right, with the weights that ship in @cnn/models-classic`,
  /** Fashion-MNIST's class names as shown under the pictures (the model's own labels are English). */
  className: (name: string) => name,
};

type Strings = typeof en;

/** Fashion-MNIST's classes in Chinese. */
const FASHION_ZH: Record<string, string> = {
  'T-shirt/top': 'T 恤/上衣',
  Trouser: '裤子',
  Pullover: '套头衫',
  Dress: '连衣裙',
  Coat: '外套',
  Sandal: '凉鞋',
  Shirt: '衬衫',
  Sneaker: '运动鞋',
  Bag: '包',
  'Ankle boot': '短靴',
};

const zh: Strings = {
  train: '训练',
  trainAgain: '重新训练',
  training: '训练中…',
  loading: '正在加载样本…',
  epochs: '轮数',
  batchSize: '批大小',
  images: '图像',
  imagesOf: (train: number, test: number) =>
    train === 3000 ? '全部（3,000 + 1,000 测试）' : `${train} + ${test} 测试`,
  lr: '学习率',
  loss: '训练损失（每步）',
  accuracy: '准确率',
  trainAcc: '训练（每步）',
  testAcc: '测试（每轮）',
  step: '步',
  epochOf: (e: number, n: number) => `第 ${e}/${n} 轮`,
  result: (acc: string, s: string, imgs: string) => `训练 ${s} 秒后测试 top-1 为 ${acc}（每秒 ${imgs} 张图像）`,
  on: (backend: string, simd: boolean, threads: number) =>
    `后端 ${backend}，SIMD ${simd ? '开启' : '关闭'}，${threads} 个线程`,
  onDevice: (device: string) => `运行于 ${device}`,
  backend: '后端',
  wasmChoice: 'WebAssembly（CPU）',
  webgpuChoice: 'WebGPU（GPU）',
  webgpuChecking: '正在检查浏览器是否提供 WebGPU…',
  webgpuMissing: {
    'no-webgpu':
      'WebGPU 不可用：此浏览器没有 navigator.gpu（Chrome 和 Edge 113+、Safari 26+、Windows 上的 Firefox 141+ 在 https:// 或 localhost 页面上提供）',
    'no-adapter':
      'WebGPU 不可用：浏览器支持 WebGPU，但没有给出适配器（没有 GPU、GPU 在其屏蔽列表中，或关闭了硬件加速）',
  },
  confusion: '混淆矩阵（行：真实类别，列：预测类别）',
  predictions: '测试图像与预测（点击一张查看它的特征图）',
  filters: '第一层卷积核（conv1，6 个 5x5；红为正，蓝为负）',
  maps: (c: string) => `所选测试图像（“${c}”）的 conv1 特征图（tanh 之后）`,
  run: '运行',
  width: '隐藏单元数',
  target: '目标',
  mse: '均方误差',
  original: '原图 28x28',
  maxPool: (n: number) => `最大池化 → ${n}x${n}`,
  avgPool: (n: number) => `平均池化 → ${n}x${n}`,
  image: '图像',
  prediction: '预测',
  loadingWeights: '正在加载训练好的 LeNet-5 和图片…',
  truth: '真实类别',
  rightOf: (right: number, n: number) => `${n} 张中对了 ${right} 张，用的是 @cnn/models-classic 自带的权重`,
  className: (name: string) => FASHION_ZH[name] ?? name,
};

const STRINGS: Record<string, Strings> = { root: en, zh };

/** The lesson strings of the page's locale. */
export function useLessonStrings(): ComputedRef<Strings> {
  const { localeIndex } = useData();
  return computed(() => STRINGS[localeIndex.value] ?? en);
}
