"""Repeat locations: localprofile (map points de-duplicated, weighted DBSCAN) against
scikit-learn's DBSCAN on every crime, on all of West Yorkshire's located crimes (the shipped data).

    .venv/bin/python benchmarks/bench_repeats.py [--repeat N]

Prints the times, their ratio (reference / ours) and a check that both give the same clusters.
"""

from __future__ import annotations

import argparse
import platform
import statistics
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


def timed(fn, repeat: int) -> tuple[float, float]:
    """Best and median time of ``repeat`` calls of ``fn`` after a warm-up call."""
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times)


def run(repeat: int = 5, catalog=None) -> dict:
    """Time both clusterings and check they agree; returns the times (best and median, seconds),
    the data's size and the agreement check."""
    repeat = max(1, repeat)
    cat = load_catalog(catalog or demo_catalog_path())
    crimes = load_layers(cat, skip={n for n in cat.layers if n != "crimes"})["crimes"].frame
    xy = shapely.get_coordinates(crimes.geometry.dropna().to_numpy())

    ours_labels = cluster_labels(xy, eps=DEFAULT_EPS_M, min_samples=DEFAULT_MIN_SAMPLES)
    ref = DBSCAN(eps=DEFAULT_EPS_M, min_samples=DEFAULT_MIN_SAMPLES).fit(xy)
    # the same clustering: the same crimes are noise, and the partitions agree (DBSCAN gives a
    # border crime within reach of two clusters to whichever it meets first, so a few may differ)
    same_noise = np.array_equal(ours_labels > 0, ref.labels_ >= 0)
    ari = adjusted_rand_score(ref.labels_, ours_labels)
    n_ours, n_ref = len(set(ours_labels[ours_labels > 0])), len(set(ref.labels_[ref.labels_ >= 0]))

    t_ours = timed(lambda: cluster_labels(xy, eps=DEFAULT_EPS_M, min_samples=DEFAULT_MIN_SAMPLES), repeat)
    t_full = timed(lambda: repeat_locations(xy, crimes.loc[crimes.geometry.notna(), "location"].to_numpy()), repeat)
    t_ref = timed(lambda: DBSCAN(eps=DEFAULT_EPS_M, min_samples=DEFAULT_MIN_SAMPLES).fit(xy), repeat)
    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "repeat": repeat,
        "eps_m": DEFAULT_EPS_M,
        "min_samples": DEFAULT_MIN_SAMPLES,
        "located_crimes": len(xy),
        "distinct_points": len(np.unique(xy, axis=0)),
        "sklearn_dbscan_s": {"best": t_ref[0], "median": t_ref[1]},
        "weighted_dbscan_s": {"best": t_ours[0], "median": t_ours[1]},
        "repeat_locations_s": {"best": t_full[0], "median": t_full[1]},
        "check": {"same_noise": bool(same_noise), "clusters_ours": n_ours, "clusters_sklearn": n_ref,
                  "adjusted_rand_index": float(ari)},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    r = run(args.repeat)
    print(f"python {r['python']}, scikit-learn {r['scikit-learn']}; "
          f"{r['located_crimes']:,} located crimes at {r['distinct_points']:,} distinct map points")
    t_ref, t_ours, t_full = (r[k]["best"] for k in ("sklearn_dbscan_s", "weighted_dbscan_s", "repeat_locations_s"))
    c = r["check"]
    print("| what | time | ratio (sklearn / ours) |")
    print("|---|---:|---:|")
    print(f"| sklearn DBSCAN on every crime | {t_ref * 1000:.1f} ms | - |")
    print(f"| localprofile weighted DBSCAN on distinct points | {t_ours * 1000:.1f} ms | {t_ref / t_ours:.1f}x |")
    print(f"| localprofile repeat_locations (clusters, hulls, top locations) | {t_full * 1000:.1f} ms | {t_ref / t_full:.1f}x |")
    print(f"check: same noise {c['same_noise']}; clusters {c['clusters_ours']:,} (ours) and {c['clusters_sklearn']:,} (sklearn); "
          f"adjusted Rand index {c['adjusted_rand_index']:.6f}")


if __name__ == "__main__":
    main()
