#!/usr/bin/env python3
"""Where a bench_attograd run spends its time, from a perf recording with call stacks.

    OMP_NUM_THREADS=1 perf record -e cpu-clock -F 1000 --call-graph dwarf,16384 -o ctrans.data \\
        build/bench/bench/bench_attograd ctrans --threads 1 --warmup 3 --steps 30
    perf script -i ctrans.data > ctrans.txt
    bench/perf_by_op.py ctrans.txt

Prints two views of the same samples:
  by op    the attograd op each sample was spent in: for forward work the outermost public op on the
           stack (a layer_norm's mean counts as layer_norm), for backward work the op whose backward
           closure ran. oneDNN's JIT-compiled kernels carry no unwind information, so their samples
           have no stack: they are the matmul kernels, counted apart.
  by kind  what the innermost function does: malloc/free, libm, kernels of each kind, the kernel's
           page faults, graph bookkeeping.
Standard library only (docs/performance.md shows its output for tiny and ctrans).
"""
import collections
import re
import sys

OPS = {'scaled_dot_product_attention', 'layer_norm', 'cross_entropy', 'mse_loss', 'embedding', 'linear', 'matmul',
       'relu', 'tanh', 'softmax', 'mean', 'sum', 'add', 'sub', 'mul', 'div', 'reshape', 'view', 'transpose',
       'operator+', 'operator-', 'operator*', 'operator/', 'where', 'contiguous'}
BACKWARD = re.compile(r'attograd::([\w+\-*/]+)\(.*\{lambda\(attograd::Tensor const&, attograd::autograd::Grads&\)')
BACKWARD_FUNCTION = re.compile(r'_Function_handler.*Grads&\), attograd::([\w+\-*/]+)\(')
FORWARD = re.compile(r'attograd::([\w+\-*/]+)(\(|$)')

KINDS = [  # (what the innermost function's name contains, kind), first match wins
    (('malloc', 'free', 'memalign', 'tcache', 'unlink_chunk', 'consolidate', 'operator new', 'operator delete'),
     'malloc/free'),
    (('tanhf', 'expm1f', 'expf', 'logf'), 'libm (tanhf, expf, ...)'),
    (('where',), 'where kernel (relu backward)'),
    (('backend::softmax',), 'softmax kernel'),
    (('sum_into',), 'sum reductions (mean, sum_to)'),
    (('backend::map', 'for_each_run', 'copy_convert', 'add_into'), 'other elementwise kernels'),
    (('onednn',), 'attograd oneDNN dispatch (cache lookup)'),
    (('attograd::empty', 'Storage'), 'tensor allocation (empty, Storage)'),
    (('attograd::mul', 'attograd::add', 'attograd::sub', 'attograd::div'), 'binary op loops (inlined in mul, add, ...)'),
    (('dnnl',), 'oneDNN (outside JIT code)'),
    (('autograd::', 'Node'), 'autograd graph and engine'),
    (('Sp_counted',), 'shared_ptr reference counts'),
    (('Shape', 'strides', 'coalesce', 'infer_shape', 'reduced_dims', 'promoted', 'as_view', 'is_contiguous'),
     'shape and stride bookkeeping'),
    (('memcpy', 'memmove', 'memset', 'memcmp'), 'memcpy/memset'),
    (('clock_gettime', 'introsort'), 'the benchmark itself (clock, median)'),
]


def stacks(path):
    """Each sample's frames, innermost first, as function names without offsets."""
    for block in open(path, encoding='utf-8', errors='replace').read().split('\n\n'):
        lines = [line.strip() for line in block.strip().split('\n') if line.strip()]
        if len(lines) < 2:
            continue
        yield [re.sub(r'\+0x[0-9a-f]+$', '', re.sub(r'^[0-9a-f]+ ', '', line).rsplit(' (', 1)[0]) for line in lines[1:]]


def jit(frames):
    """A sample in JIT-compiled code (oneDNN's kernels: attograd has no JIT)."""
    return frames[0].startswith('[unknown]')


def op_of(frames):
    if jit(frames):
        return 'oneDNN JIT kernels (matmul; stack lost)'
    for f in frames:
        m = BACKWARD.match(f) or BACKWARD_FUNCTION.search(f)
        if m:
            return 'backward ' + m.group(1)
        if 'Optimizer::step' in f:
            return 'optimizer step'
        if 'Optimizer::zero_grad' in f:
            return 'zero_grad'
    outermost = None
    for f in frames:
        m = FORWARD.match(f)
        if m and m.group(1) in OPS:
            outermost = m.group(1)
    if outermost:
        return 'forward ' + outermost
    if any('autograd::' in f for f in frames):
        return 'engine, outside any op (graph walk, freeing nodes and tensors)'
    return 'elsewhere: ' + frames[0][:50]


def kind_of(frames):
    if jit(frames):
        return 'oneDNN JIT kernels (matmul)'
    if any('page_fault' in f for f in frames):
        return 'kernel: page faults on fresh memory'
    if any(k in f for f in frames for k in ('munmap', '__brk', 'sys_brk')):
        return 'kernel: returning memory (munmap, brk)'
    for names, kind in KINDS:
        if any(n in frames[0] for n in names):
            return kind
    return 'other: ' + frames[0][:50]


def main():
    samples = list(stacks(sys.argv[1]))
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    print(f'{len(samples)} samples')
    for title, classify in (('by op', op_of), ('by kind', kind_of)):
        counts = collections.Counter(classify(frames) for frames in samples)
        print(f'\n{title}')
        for name, n in counts.most_common(top):
            print(f'  {100 * n / len(samples):5.1f}%  {name}')


if __name__ == '__main__':
    main()
