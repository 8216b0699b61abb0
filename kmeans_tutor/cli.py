"""The ``kmeans-tutor`` command line.

One sub-command per function: ``build_parser()`` builds the parser, and each
sub-command has an ``_add_<name>_parser(subparsers)`` that declares its options and a
``cmd_<name>(args) -> int`` that runs it. To add one, write that pair and register it
in ``build_parser()``. Keep imports of heavy modules (matplotlib, ipywidgets, Voilà)
inside the ``cmd_*`` functions so ``kmeans-tutor --help`` stays fast.

Exit codes: 0 success, 1 the command failed (e.g. a busy port), 2 bad usage.

Examples
--------
$ kmeans-tutor serve                    # lessons at http://127.0.0.1:8866/
$ kmeans-tutor serve --lesson 2 --no-browser
$ kmeans-tutor serve --host 0.0.0.0 --lesson 4 --preheat 10   # a class on the LAN
$ kmeans-tutor animate mall -k 5 -o mall.gif
$ kmeans-tutor animate rings -k 2 --init random -o rings.mp4
$ kmeans-tutor segment data/mall_customers.csv -k 5 -f "Annual Income (k$)" "Spending Score (1-100)"
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

__all__ = ["build_parser", "main", "cmd_serve", "cmd_animate", "cmd_segment"]

PROG = "kmeans-tutor"


# --- argument types --------------------------------------------------------------------


def _port(text: str) -> int:
    """A TCP port number, for argparse."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port number (1-65535)")
    return value


def _non_negative(text: str, what: str) -> int:
    """``text`` as an int >= 0, for argparse; ``what`` names it in the error."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is not {what}")
    return value


def _lesson_number(text: str) -> int:
    """A lesson number (0 for the index), for argparse."""
    return _non_negative(text, "a lesson number (0, 1, 2, ...)")


def _count(text: str) -> int:
    """A whole number >= 0, for argparse."""
    return _non_negative(text, "a whole number (0 or more)")


def _seconds(text: str) -> int:
    """A positive whole number of seconds, for argparse."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number of seconds")
    return value


# --- serve -----------------------------------------------------------------------------


def _add_serve_parser(subparsers) -> argparse.ArgumentParser:
    from .serve import (
        DEFAULT_CELL_TIMEOUT,
        DEFAULT_CULL_IDLE_TIMEOUT,
        DEFAULT_CULL_INTERVAL,
        DEFAULT_HOST,
        DEFAULT_MIN_AVAILABLE_MB,
        DEFAULT_PORT,
        MB_PER_KERNEL,
    )

    parser = subparsers.add_parser(
        "serve",
        help="serve the interactive lessons in the browser (Voilà)",
        description=(
            "Serve the lesson notebooks with Voilà: code hidden, only this machine "
            "allowed by default. Prints the URL; stop with Ctrl+C."
        ),
        epilog=(
            "A --host other than 127.0.0.1/localhost lets other machines connect: a random "
            "access token is then required and printed in the URL (--no-token turns this off)."
        ),
    )
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT,
                        help=f"port to listen on; fails if it is busy (default {DEFAULT_PORT})")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default {DEFAULT_HOST}: this machine only; "
                             "0.0.0.0 for every network interface)")
    parser.add_argument("--lesson", type=_lesson_number, metavar="N",
                        help="open lesson N (file NN_*.ipynb) directly; 0 is the index")
    parser.add_argument("--no-browser", action="store_true",
                        help="do not open a web browser (by default one opens when run from a desktop terminal)")
    parser.add_argument("--no-token", action="store_true",
                        help="with a non-local --host, serve WITHOUT an access token (anyone on the network can use it)")
    parser.add_argument("--preheat", type=_count, default=0, metavar="P",
                        help="keep P kernels that have already run --lesson ready, so the first P students "
                             f"get it at once (each holds ~{MB_PER_KERNEL} MB until the server stops; default 0)")
    parser.add_argument("--max-kernels", type=_count, default=None, metavar="N",
                        help="most lessons open at once; past it students see a 'Lesson server full' page "
                             f"(default: what the free memory holds at {MB_PER_KERNEL} MB each; 0 = no limit)")

    advanced = parser.add_argument_group("advanced")
    advanced.add_argument("--lessons-dir", metavar="PATH",
                          help="folder of lesson notebooks (default: the lessons shipped with kmeans-tutor)")
    advanced.add_argument("--cell-timeout", type=_seconds, default=DEFAULT_CELL_TIMEOUT, metavar="S",
                          help=f"seconds one cell may run while a lesson loads (default {DEFAULT_CELL_TIMEOUT})")
    advanced.add_argument("--cull-idle-timeout", type=_seconds, default=DEFAULT_CULL_IDLE_TIMEOUT, metavar="S",
                          help=f"shut down a lesson's kernel after S idle seconds (default {DEFAULT_CULL_IDLE_TIMEOUT})")
    advanced.add_argument("--cull-interval", type=_seconds, default=DEFAULT_CULL_INTERVAL, metavar="S",
                          help=f"look for idle kernels every S seconds (default {DEFAULT_CULL_INTERVAL})")
    advanced.add_argument("--cull-connected", action="store_true",
                          help="also shut down idle kernels whose browser tab is still open")
    advanced.add_argument("--min-available-mb", type=_count, default=DEFAULT_MIN_AVAILABLE_MB, metavar="MB",
                          help="start no lesson while the machine has less memory available "
                               f"(default {DEFAULT_MIN_AVAILABLE_MB}; 0 = no check)")
    advanced.add_argument("--show-tracebacks", action="store_true",
                          help="show Python tracebacks in the page (they reveal code; for debugging)")
    parser.set_defaults(func=cmd_serve)
    return parser


def cmd_serve(args: argparse.Namespace) -> int:
    """Run ``kmeans-tutor serve``."""
    from .serve import ServeError, serve

    try:
        return serve(
            args.lessons_dir,
            port=args.port,
            host=args.host,
            lesson=args.lesson,
            no_token=args.no_token,
            open_browser=False if args.no_browser else None,
            cell_timeout=args.cell_timeout,
            cull_interval=args.cull_interval,
            cull_idle_timeout=args.cull_idle_timeout,
            cull_connected=args.cull_connected,
            max_kernels=args.max_kernels,
            min_available_mb=args.min_available_mb,
            preheat=args.preheat,
            show_tracebacks=args.show_tracebacks,
        )
    except (ServeError, ValueError) as exc:
        print(f"{PROG} serve: error: {exc}", file=sys.stderr)
        return 1


# --- shared data options -----------------------------------------------------------------


def _positive_int(text: str) -> int:
    """A whole number ≥ 1, for argparse."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole-number seed") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"seed {value} must be between 0 and 4294967295")
    return value


def _size(text: str) -> tuple[float, float]:
    """Figure size in inches, written WxH (e.g. 9x4.5)."""
    try:
        w, h = (float(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 9x4.5 (inches)") from None
    if not (0 < w <= 40 and 0 < h <= 40):
        raise argparse.ArgumentTypeError(f"size {text!r} must be between 0 and 40 inches each way")
    return w, h


MALL_DEFAULT_FEATURES = ["Annual Income (k$)", "Spending Score (1-100)"]


def _load_data(source: str, features):
    """(DataFrame of numeric features, full DataFrame for profiles, title) from a
    dataset name, "mall", or a CSV path."""
    from pathlib import Path

    import pandas as pd

    from .data import load_csv, load_mall_customers
    from .datasets import DATASETS, load_dataset

    name = source.strip().lower().replace("-", "_").replace(" ", "_")
    if name in ("mall", "mall_customers"):
        full = load_mall_customers()
        features = list(features or MALL_DEFAULT_FEATURES)
        unknown = [f for f in features if f not in full.columns or f == "Gender"]
        if unknown:
            numeric = [c for c in full.columns if c != "Gender"]
            raise ValueError(f"unknown Mall feature(s) {unknown}; choose from {numeric}")
        return full[features].astype(float), full, "Mall Customers"
    if name in DATASETS:
        ds = load_dataset(name)
        frame = ds.to_frame()
        cols = list(features or ds.feature_names)
        return frame[cols].astype(float), frame, ds.title
    path = Path(source)
    if not path.exists():
        raise ValueError(f"{source!r} is neither a dataset name ('mall', {', '.join(sorted(DATASETS))}) "
                         f"nor an existing CSV file")
    if features is None:
        # Every numeric column except identifiers such as CustomerID.
        header = pd.read_csv(path, nrows=0).columns
        ids = [c for c in header if str(c).strip().lower().endswith("id")]
        X = load_csv(path, duplicates="keep")
        X = X[[c for c in X.columns if c not in ids]]
        if X.shape[1] == 0:
            raise ValueError(f"{path} has no numeric feature columns besides identifiers {ids}")
    else:
        X = load_csv(path, features=list(features), duplicates="keep")
    full = pd.read_csv(path, dtype=str, keep_default_na=False).iloc[X.index - 1]
    full.index = X.index
    for col in X.columns:
        full[col] = X[col]
    return X, full, path.name


def _add_data_arguments(parser, *, default_k: int):
    parser.add_argument("-f", "--features", nargs="+", metavar="COLUMN",
                        help="feature columns to cluster on (Mall default: income and spending score)")
    parser.add_argument("-k", "--clusters", type=_positive_int, default=default_k, metavar="K",
                        help=f"number of clusters (default {default_k})")
    parser.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
    scale = parser.add_mutually_exclusive_group()
    scale.add_argument("--scaled", dest="scaled", action="store_true", default=True,
                       help="z-score the features before clustering (default)")
    scale.add_argument("--raw", dest="scaled", action="store_false",
                       help="cluster the features in their own units")


# --- animate ---------------------------------------------------------------------------


def _add_animate_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "animate",
        help="save an animation of one K-means run (GIF, MP4 or HTML)",
        description="Run K-means step by step on a data set and save every step as an animation: "
                    "seeding, then each assign and update, with the inertia beside it.",
        epilog="DATA is 'mall', a teaching data set (e.g. blobs, rings, smiley) or a CSV file. "
               "MP4 needs the optional extra: pip install \"kmeans-tutor[mp4]\".",
    )
    parser.add_argument("data", metavar="DATA", help="'mall', a data set name, or a CSV path")
    _add_data_arguments(parser, default_k=5)
    parser.add_argument("--init", choices=["k-means++", "random", "farthest"], default="k-means++",
                        help="how to choose the starting centres (default k-means++)")
    parser.add_argument("-o", "--output", default="kmeans.gif", metavar="PATH",
                        help="output file; .gif, .mp4 or .html (default kmeans.gif)")
    parser.add_argument("--fps", type=float, default=2.0, help="frames per second (default 2)")
    parser.add_argument("--dpi", type=_positive_int, default=80, help="dots per inch (default 80)")
    parser.add_argument("--size", type=_size, default=(9.0, 4.5), metavar="WxH",
                        help="figure size in inches (default 9x4.5)")
    parser.add_argument("--voronoi", action="store_true", help="tint the nearest-centre regions")
    parser.set_defaults(func=cmd_animate)
    return parser


def cmd_animate(args: argparse.Namespace) -> int:
    """Run ``kmeans-tutor animate``."""
    from .animation import save_animation
    from .lloyd import kmeans_steps
    from .preprocessing import standardize

    if not 0 < args.fps <= 60:
        print(f"{PROG} animate: error: --fps must be between 0 and 60, got {args.fps}", file=sys.stderr)
        return 2
    try:
        X, _, title = _load_data(args.data, args.features)
        if args.scaled:
            X, _ = standardize(X)
        trace = kmeans_steps(X, args.clusters, init=args.init, random_state=args.seed).trace()
        path = save_animation(trace, args.output, X=X.to_numpy(), fps=args.fps, dpi=args.dpi,
                              figsize=args.size, voronoi=args.voronoi,
                              feature_names=[f"{c} (z-score)" if args.scaled else str(c)
                                             for c in X.columns])
    except (ValueError, TypeError, ImportError) as exc:
        print(f"{PROG} animate: error: {exc}", file=sys.stderr)
        return 1
    print(f"{title}: {len(trace)} steps, {trace.final.describe()}")
    print(f"saved {path}  (replay this run with --seed {args.seed})")
    return 0


# --- segment ---------------------------------------------------------------------------


def _add_segment_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "segment",
        help="cluster a CSV of customers and print profiles and personas",
        description="Fit K-means (best of --n-init restarts) on a CSV, print one profile per "
                    "cluster (size, share, means, category mix) with a persona and "
                    "recommendations, and write the rows with their cluster to a new CSV.",
        epilog="Without --features every numeric column is used except identifiers (names ending in 'id').",
    )
    parser.add_argument("csv", metavar="CSV", help="a CSV file with a header row ('mall' for the bundled data)")
    _add_data_arguments(parser, default_k=5)
    parser.add_argument("--n-init", type=_positive_int, default=10, help="restarts; the best is kept (default 10)")
    parser.add_argument("-o", "--output", metavar="PATH",
                        help="labelled CSV to write (default <name>_segments.csv in this folder)")
    parser.set_defaults(func=cmd_segment)
    return parser


def cmd_segment(args: argparse.Namespace) -> int:
    """Run ``kmeans-tutor segment``.

    Numbering: the printout counts clusters from 1, like the step captions and
    the StepView legend — the profile table's rows are 1 … k (index
    "cluster") and each persona reads "Cluster 1" … "Cluster k". The written
    CSV keeps the data 0-based: its ``cluster`` column holds ``labels_``
    (0 … k−1, like scikit-learn), so "Cluster 1" is ``cluster == 0``; a
    one-line note under the table says so. No extra column is added.
    """
    from pathlib import Path

    import pandas as pd

    from .estimator import KMeans
    from .preprocessing import standardize
    from .profiles import cluster_profiles, describe_segments

    try:
        X, full, title = _load_data(args.csv, args.features)
        Z = standardize(X)[0] if args.scaled else X
        km = KMeans(args.clusters, n_init=args.n_init, random_state=args.seed).fit(Z)
        profiles = cluster_profiles(full, km.labels_, features=list(X.columns))
        segments = describe_segments(profiles)
    except (ValueError, TypeError) as exc:
        print(f"{PROG} segment: error: {exc}", file=sys.stderr)
        return 1
    stem = Path(args.csv).stem if Path(args.csv).suffix else args.csv
    out = Path(args.output or f"{stem}_segments.csv")
    labelled = full.copy()
    labelled["cluster"] = km.labels_
    labelled["segment"] = segments["name"].reindex(km.labels_).to_numpy()
    labelled.to_csv(out)
    with pd.option_context("display.width", 120, "display.max_columns", 20,
                           "display.float_format", "{:,.2f}".format):
        print(f"{title}: {len(X)} rows, k = {args.clusters}, features {list(X.columns)}"
              f"{' (z-scored)' if args.scaled else ''}, inertia {km.inertia_:,.2f}\n")
        shown = profiles.set_axis(pd.Index([int(c) + 1 for c in profiles.index], name="cluster"))
        print(shown.to_string())
    print(f"(clusters are numbered 1 … {len(profiles)} here; the 'cluster' column of {out} "
          f"counts from 0, so Cluster 1 is cluster 0 there)")
    for cluster, row in segments.iterrows():
        print(f"\nCluster {int(cluster) + 1} · {row['name']} — {row['persona']} "
              f"({row['size']} customers, {row['share']:.0%})")
        print(f"  {row['description']}")
        for rec in row["recommendations"]:
            print(f"  - {rec}")
    print(f"\nwrote {out} (every row with its cluster and segment)")
    return 0


# --- the parser --------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The ``kmeans-tutor`` parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Watch and poke K-means clustering, one half-step at a time.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_serve_parser(subparsers)
    _add_animate_parser(subparsers)
    _add_segment_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kmeans-tutor`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
