"""Repeat locations: localprofile (map points de-duplicated, weighted DBSCAN) against
scikit-learn's DBSCAN on every crime, on all of West Yorkshire's located crimes (the shipped data).

    .venv/bin/python benchmarks/bench_repeats.py [--repeat N]

Prints the times, their ratio (reference / ours) and a check that both give the same clusters.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import shapely
import sklearn
from sklearn.cluster import DBSCAN
from sklearn.metrics import adjusted_rand_score

from localprofile.catalog import load_catalog
from localprofile.demo import demo_catalog_path
from localprofile.engine.repeat_locations import (
    DEFAULT_EPS_M,
    DEFAULT_MIN_SAMPLES,
    cluster_labels,
    repeat_locations,
)
from localprofile.loading import load_layers


def best(fn, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    cat = load_catalog(demo_catalog_path())
    crimes = load_layers(cat, skip={n for n in cat.layers if n != "crimes"})["crimes"].frame
    xy = shapely.get_coordinates(crimes.geometry.dropna().to_numpy())
    print(f"python {platform.python_version()}, scikit-learn {sklearn.__version__}; "
          f"{len(xy):,} located crimes at {len(np.unique(xy, axis=0)):,} distinct map points")

    ours_labels = cluster_labels(xy, eps=DEFAULT_EPS_M, min_samples=DEFAULT_MIN_SAMPLES)
    ref = DBSCAN(eps=DEFAULT_EPS_M, min_samples=DEFAULT_MIN_SAMPLES).fit(xy)
    # the same clustering: the same crimes are noise, and the partitions agree (DBSCAN gives a
    # border crime within reach of two clusters to whichever it meets first, so a few may differ)
    same_noise = np.array_equal(ours_labels > 0, ref.labels_ >= 0)
    ari = adjusted_rand_score(ref.labels_, ours_labels)
    n_ours, n_ref = len(set(ours_labels[ours_labels > 0])), len(set(ref.labels_[ref.labels_ >= 0]))

    t_ours = best(lambda: cluster_labels(xy, eps=DEFAULT_EPS_M, min_samples=DEFAULT_MIN_SAMPLES), args.repeat)
    t_full = best(lambda: repeat_locations(xy, crimes.loc[crimes.geometry.notna(), "location"].to_numpy()), args.repeat)
    t_ref = best(lambda: DBSCAN(eps=DEFAULT_EPS_M, min_samples=DEFAULT_MIN_SAMPLES).fit(xy), args.repeat)
    print("| what | time | ratio (sklearn / ours) |")
    print("|---|---:|---:|")
    print(f"| sklearn DBSCAN on every crime | {t_ref * 1000:.1f} ms | - |")
    print(f"| localprofile weighted DBSCAN on distinct points | {t_ours * 1000:.1f} ms | {t_ref / t_ours:.1f}x |")
    print(f"| localprofile repeat_locations (clusters, hulls, top locations) | {t_full * 1000:.1f} ms | {t_ref / t_full:.1f}x |")
    print(f"check: same noise {same_noise}; clusters {n_ours:,} (ours) and {n_ref:,} (sklearn); "
          f"adjusted Rand index {ari:.6f}")


if __name__ == "__main__":
    main()
