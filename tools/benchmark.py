"""Every performance figure of the project, measured side by side in one run.

    python tools/benchmark.py SUBCOMMAND [options] [--json] [--device cpu|cuda]

Each subcommand is a module in ``tools/benchmarks/`` defining ``HELP``,
``add_arguments(parser)`` and ``run(args) -> list[Comparison]``; adding a
module adds a subcommand. Every subcommand prints a table per comparison
(median time, ratio to the baseline, peak memory) or, with ``--json``, one JSON
object of its figures.
"""
import argparse
import contextlib
import importlib
import os.path as osp
import pkgutil
import sys

TOOLS = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.dirname(TOOLS))  # das_mmseg from a checkout
sys.path.insert(0, TOOLS)  # the benchmarks package

import benchmarks  # noqa: E402
import torch  # noqa: E402

from das_mmseg.utils.benchmark import report  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='command', required=True)
    modules = {}
    for info in sorted(
            pkgutil.iter_modules(benchmarks.__path__), key=lambda m: m.name):
        if info.name.startswith('_'):
            continue
        module = importlib.import_module(f'benchmarks.{info.name}')
        modules[info.name] = module
        p = sub.add_parser(
            info.name, help=module.HELP, description=module.HELP)
        p.add_argument(
            '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
        p.add_argument(
            '--warmup',
            type=int,
            default=2,
            help='untimed iterations of each candidate')
        p.add_argument(
            '--repeats',
            type=int,
            default=10,
            help='timed iterations of each candidate')
        p.add_argument(
            '--json',
            action='store_true',
            help='print one JSON object instead of tables')
        module.add_arguments(p)
    args = parser.parse_args(argv)
    args.device = torch.device(args.device)
    # logs to stderr: stdout carries only the figures
    with contextlib.redirect_stdout(sys.stderr):
        comparisons = modules[args.command].run(args)
    print(report(comparisons, args.json))


if __name__ == '__main__':
    main()
