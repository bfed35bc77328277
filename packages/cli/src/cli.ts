/**
 * The `cnn` command line: list and summarise the model zoo, train or fine-tune into run folders (with resume),
 * compare runs, evaluate, predict and benchmark.
 *
 * @packageDocumentation
 */
import { listModels, getCard, getModel, summary, ready, ModelOptionsError } from '@cnn/models-efficient';
import { DatasetUsageError } from '@cnn/datasets';
import { CudaBackendError, TensorArgumentError, ThreadsEnvError, WebGpuBackendError } from '@cnn/tensor';
import { UsageError, parse as parseFlags, quote, type OptionSpecs } from './args';
import { cmdTrain } from './train';
import { cmdEval } from './eval';
import { cmdPredict } from './predict';
import { cmdBench } from './bench';
import { cmdCompare } from './compare';
import { pretrainedTable } from './pretrained';
import { registerTestPretrained } from './test-hooks';

const HELP = `Usage: cnn <command> [options]

Commands:
  list [pattern] [--pretrained]      model ids with params, MACs and input size (pattern: glob, e.g. 'resnet*'),
                                     or with --pretrained which ids have which pretrained weights
  summary <model> [--input HxWxC]    the layer summary table of a model
  train --model <id> --dataset <d>   train into a run folder (checkpoints, metrics, pictures); --resume <run>
  train --initial-checkpoint <file>  fine-tune (or --pretrained <id>; --num-classes, --freeze backbone)
  eval --checkpoint <file>           test accuracy, loss, per-class precision / recall / F1
  predict --checkpoint <file> <img>  top classes of image files (--pretrained <id>: ImageNet labels)
  compare <run> <run>...             loss and accuracy curves of runs on one picture
  bench [--model a,b]                inference and training speed on this machine

Options:
  -h, --help                         help for the command or a subcommand`;

const HELP_LIST = `Usage: cnn list [pattern] [--pretrained]

Lists the registered models (optionally those matching a glob) with params, MACs and default input size.

Options:
  --pretrained             instead: which ids have which pretrained weights (name, source, dataset, published
                           top-1 / top-5, whether the key map was verified against the upstream layout, file)`;

const HELP_SUMMARY = `Usage: cnn summary <model> [--input HxWxC]

Prints the layer summary table (output shapes, params, MACs) of <model> at its default input size or --input.`;

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

function parse(args: string[], options: OptionSpecs, command = 'list') {
  return parseFlags(args, options, command);
}

function cmdList(args: string[]): void {
  const { values, positionals } = parse(args, { pretrained: { type: 'boolean' } });
  if (values.help) return void console.log(HELP_LIST);
  if (positionals.length > 1) throw new UsageError('cnn list takes at most one pattern (see cnn list --help)');
  if (values.pretrained) return void console.log(pretrainedTable(positionals[0]));
  const ids = listModels(positionals[0]);
  const rows = ids.map((id) => {
    const c = getCard(id);
    return [id, fmt(c.params), fmt(c.macs), c.inputSize.join('x')];
  });
  const head = ['model', 'params', 'MACs', 'input'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((s, i) => (i === 0 ? s.padEnd(w[i]!) : s.padStart(w[i]!))).join('  ');
  console.log([line(head), ...rows.map(line)].join('\n'));
}

async function cmdSummary(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { input: { type: 'string' } }, 'summary');
  if (values.help) return void console.log(HELP_SUMMARY);
  if (positionals.length !== 1) throw new UsageError('cnn summary needs exactly one model id (see cnn list)');
  const id = positionals[0]!;
  if (!listModels().includes(id)) throw new UsageError(`unknown model ${quote(id)}; run 'cnn list' to see the ids`);
  const card = getCard(id);
  const flag = (values as { input?: string }).input;
  let input: number[] = card.inputSize;
  if (typeof flag === 'string') {
    input = flag.split('x').map(Number);
    if (input.length !== 3 || !input.every((d) => Number.isInteger(d) && d > 0)) {
      throw new UsageError(`--input must be HxWxC of positive integers, e.g. 224x224x3 (got ${quote(flag)})`);
    }
  }
  await ready();
  try {
    const model = getModel(id, { inChannels: input[2] });
    console.log(summary(model, input).toString());
  } catch (e) {
    // An --input the model cannot take (too many channels, too small for its kernels, a flattened size its classifier
    // does not expect, beyond what tfjs can index) is the user's to fix: say so, with the library's reason.
    if (
      typeof flag === 'string' &&
      (e instanceof ModelOptionsError || e instanceof TensorArgumentError || (e as Error)?.constructor === Error)
    ) {
      throw new UsageError(`--input ${flag} does not fit ${id}: ${(e as Error).message}`);
    }
    throw e;
  }
}

/** `cnn: <message>`, or the message alone when it already starts with the command (`cnn predict needs ...`). */
function prefixed(message: string): string {
  return /^cnn\b/.test(message) ? message : `cnn: ${message}`;
}

/** Runs the CLI on `argv` (without node and the script); returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    registerTestPretrained();
    if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
      console.log(HELP);
      return 0;
    }
    if (cmd === 'list') cmdList(rest);
    else if (cmd === 'summary') await cmdSummary(rest);
    else if (cmd === 'train') return await cmdTrain(rest);
    else if (cmd === 'eval') return await cmdEval(rest);
    else if (cmd === 'predict') return await cmdPredict(rest);
    else if (cmd === 'bench') return await cmdBench(rest);
    else if (cmd === 'compare') return await cmdCompare(rest);
    else if (cmd.startsWith('-')) throw new UsageError(`unknown option ${quote(cmd)} (see cnn --help)`);
    else throw new UsageError(`unknown command ${quote(cmd)} (see cnn --help)`);
    return 0;
  } catch (e) {
    // A call to @cnn/datasets refused for its arguments (a size, a class name) came from the user's flags or files:
    // flags are range-checked where they are parsed, so this is the net under it, one line and exit code 2 as well.
    // A bad CNN_THREADS is the user's setting as much as a flag is.
    if (e instanceof UsageError || e instanceof DatasetUsageError || e instanceof ThreadsEnvError) {
      console.error(prefixed(e.message.split('\n')[0]!));
      return 2;
    }
    // A --backend this machine cannot run (webgpu with no adapter, cuda with no libraries): the backend's own named
    // message, whole (its later lines say what was found here), without a stack; exit code 1, the flag was valid.
    if (e instanceof WebGpuBackendError || e instanceof CudaBackendError) {
      console.error(`cnn: --backend cannot start: ${e.message}`);
      return 1;
    }
    console.error(prefixed((e as Error).message));
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
