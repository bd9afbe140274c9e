#!/usr/bin/env python3
"""Benchmark the Python render engine (mlgitops.kustomize.engine) against `kubectl kustomize`.

    .venv/bin/python bench/render.py [--models N] [--envs K] [--sample S] [--large-objects M]
                                     [--repeat R] [--keep DIR | --reuse DIR] [--json]

It creates a synthetic repository of N models x K environments with bench/build.py's model
generator (the same models `make bench` uses), runs `mlgitops build` there (untimed), then:

  (a) engine, all N x K overlays, measured two ways (module import timed separately, not included):
      (a1) pooled: as `mlgitops check` / `validate` render overlays (validate/documents.py): in
           forked workers, one per usable core (mlgitops.pool.map_forked, at most 8), each worker
           rendering whole overlays and sending the rendered objects back to the parent (pickled);
           wall time, and CPU time of the parent and the workers;
      (a2) one process: `render_objects` on every overlay in a loop; wall and CPU time.
      (a1) runs first, in a process that has rendered nothing yet: its workers start cold. The
           repository's files are in the page cache for both tools: the untimed build has just
           written them, and with --reuse every file is read once first (a repository left
           untouched for a while is read from disk by (a1) only, then served from memory to
           kubectl: (a1) took 6.6 s after the page cache was dropped, 4.8 s right after).
  (b) kustomize: `kubectl kustomize` once per overlay (one process per overlay, as Argo CD's repo
      server runs it) on S overlays (evenly spaced), after one warm-up, EXTRAPOLATED to all N x K
      overlays from the mean, measured two ways:
      (b1) with as many kubectl processes at a time as (a1) has workers (the same cores: the
           like-for-like comparison for (a1)); wall time of the whole sample / S;
      (b2) one after another (sequentially); wall time of each, mean.
      Targets: (b1) / (a1) >= 50 (how users run each tool on this machine's cores; with one usable
      core both are sequential). (b2) / (a2) (one process each) and the CPU time ratio are printed
      too, for information;
  (c) one large overlay: a kustomization that includes model overlays (and thereby their shared
      base components) until it renders at least M objects (default 500). The engine's
      in-process time per render (median of R) is compared with an ESTIMATE of kustomize's own
      in-process time: median `kubectl kustomize` wall time on the large overlay minus the median
      on a trivial one-object overlay (process start-up and binary loading). Target: the engine
      at least as fast.

The sampled overlays and the large overlay are also compared (parsed objects, and bytes of the
YAML stream) between the two, so the timings are known to be of correct renders.

Exit codes: 0 the benchmark ran, whether or not the targets were met (a table of PASS/FAIL is
printed); 1 it could not run (the synthetic repository does not build, the engine cannot be
imported); 2 usage error or kubectl missing.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import sys
import time

import yaml

from benchlib import load_build_module  # noqa: E402 - bench/ is on sys.path when run as a script

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET_RATIO_ALL = 50.0  # (b1) / (a1): kubectl vs the engine, both on the same cores
TARGET_RATIO_LARGE = 1.0  # kustomize in-process estimate / engine


B = load_build_module()
log = B.log


def median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 3)


def parse_docs(text: str) -> list:
    return list(yaml.safe_load_all(text))


# --------------------------------------------------------------------------------------------
# The large and the trivial overlay
# --------------------------------------------------------------------------------------------

def write_large_overlay(root: str, overlays: list[str], counts: dict[str, int], want: int) -> tuple[str, int, int]:
    """`large/`: includes model overlays (all environments, in order) until >= want objects.

    Every overlay sets its own namespace, so objects of different environments never clash."""
    chosen, total = [], 0
    by_model: dict[str, list[str]] = {}
    for rel in overlays:  # round-robin over environments: a mix of every archetype and env
        by_model.setdefault(rel.split("/")[2], []).append(rel)
    order = [rel for group in zip(*by_model.values()) for rel in group] if by_model else []
    order += [rel for rel in overlays if rel not in order]
    for rel in order:
        if total >= want:
            break
        chosen.append(rel)
        total += counts.get(rel, 6)  # 6: a typical overlay, when the engine could not render this one
    directory = os.path.join(root, "bench-large")
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "kustomization.yaml"), "w", encoding="utf-8") as fh:
        fh.write("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n")
        fh.writelines(f"- ../{rel}\n" for rel in chosen)
    return directory, len(chosen), total


def write_trivial_overlay(root: str) -> str:
    directory = os.path.join(root, "bench-trivial")
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "kustomization.yaml"), "w", encoding="utf-8") as fh:
        fh.write("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- configmap.yaml\n")
    with open(os.path.join(directory, "configmap.yaml"), "w", encoding="utf-8") as fh:
        fh.write("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: trivial\ndata:\n  key: value\n")
    return directory


# --------------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------------

def warm_page_cache(root: str) -> None:
    """Read every file under `root` once, so the timed runs of both tools read from memory."""
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            with open(os.path.join(dirpath, name), "rb") as fh:
                while fh.read(1 << 20):
                    pass


def render_pooled(engine, render_error: type, root: str, overlays: list[str]) -> dict:
    """(a1): every overlay rendered the way `mlgitops check` renders them (validate/documents.py):
    mlgitops.pool.map_forked over the overlays, the rendered objects pickled back to this process."""
    from mlgitops import pool  # noqa: PLC0415

    def one(rel: str) -> tuple[list | None, str | None]:
        try:
            return engine.render_objects(os.path.join(root, rel), repo_root=root), None
        except render_error as exc:
            return None, str(exc)
        except Exception as exc:  # noqa: BLE001 - a crash is a result too
            return None, f"{type(exc).__name__}: {exc}"

    workers = pool.workers()
    cpu0, children0, started = time.process_time(), B.children_cpu(), time.perf_counter()
    results = pool.map_forked(one, overlays, min_items=1)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu0 + B.children_cpu() - children0
    errors = {rel: err for rel, (_, err) in zip(overlays, results) if err is not None}
    objects = sum(len(objs) for objs, _ in results if objs is not None)
    return {"workers": workers if workers >= 2 else 1, "wall_s": wall, "cpu_s": cpu, "errors": errors,
            "objects": objects}


def kubectl_concurrently(kubectl: str, root: str, chosen: list[str], workers: int) -> tuple[float, float]:
    """(b1): `kubectl kustomize` once per chosen overlay, `workers` processes at a time; (wall time
    of the whole sample, CPU time of the kubectl processes)."""
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    children0, started = B.children_cpu(), time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as threads:
        list(threads.map(lambda rel: B.run([kubectl, "kustomize", os.path.join(root, rel)],
                                           what=f"kubectl kustomize {rel}"), chosen))
    return time.perf_counter() - started, B.children_cpu() - children0


def bench(args: argparse.Namespace, root: str, kubectl: str) -> dict:
    mlgitops = B.venv_tool("mlgitops")
    if not mlgitops:
        raise B.BenchError("mlgitops not found next to this interpreter or on PATH "
                           "(run with .venv/bin/python after `.venv/bin/pip install -e .`)")
    envs = B.environment_names(args.envs)
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None

    build_s, files_written = None, None
    if args.reuse:
        log(f"bench: reusing the repository in {root} (not regenerated, not built)")
    else:
        log(f"bench: generating {args.models} models x {len(envs)} environments ({', '.join(envs)}) in {root}")
        # N x K overlays, as the earlier figures (build.py's default adds a second prod cluster)
        B.create_repo(root, args.models, envs, prod_clusters=1)
        log("bench: mlgitops build (untimed)")
        build_s, proc = B.run([mlgitops, "build", "--repo", root, "--format", "json"],
                              what="mlgitops build of the synthetic repository")
        files_written = len(json.loads(proc.stdout).get("written", []))
    overlays = B.overlay_dirs(root)
    if not args.reuse and len(overlays) != args.models * len(envs):
        raise B.BenchError(f"expected {args.models * len(envs)} overlays, found {len(overlays)}")

    log("bench: (a) importing the engine")
    started = time.perf_counter()
    try:
        from mlgitops.kustomize import engine  # noqa: PLC0415 - timed on purpose
        from mlgitops.kustomize.errors import RenderError  # noqa: PLC0415
    except ImportError as exc:
        raise B.BenchError(f"cannot import mlgitops.kustomize.engine: {exc}") from exc
    import_s = time.perf_counter() - started

    if args.reuse:
        log("bench: reading every file of the repository once (the page cache, as after a build)")
        warm_page_cache(root)

    # (a1) the engine in the fork pool, as mlgitops check renders overlays (first: cold workers).
    log(f"bench: (a1) engine: all {len(overlays)} overlays in forked workers (mlgitops.pool)")
    pooled = render_pooled(engine, RenderError, root, overlays)

    # (a2) the engine, one process.
    log(f"bench: (a2) engine: render_objects on all {len(overlays)} overlays in one process")
    counts: dict[str, int] = {}
    engine_errors: dict[str, str] = {}
    per_overlay: list[float] = []
    cpu0 = time.process_time()
    started = time.perf_counter()
    for rel in overlays:
        t0 = time.perf_counter()
        try:
            objs = engine.render_objects(os.path.join(root, rel), repo_root=root)
            counts[rel] = len(objs)
        except RenderError as exc:
            engine_errors[rel] = str(exc)
        except Exception as exc:  # noqa: BLE001 - a crash is a result too
            engine_errors[rel] = f"{type(exc).__name__}: {exc}"
        per_overlay.append(time.perf_counter() - t0)
    engine_all_s = time.perf_counter() - started
    engine_all_cpu = time.process_time() - cpu0

    # (b) kubectl kustomize, one process per overlay, on a sample; extrapolated.
    sample = min(args.sample, len(overlays))
    step = len(overlays) / sample
    chosen = [overlays[int(j * step)] for j in range(sample)]
    log(f"bench: (b2) kubectl kustomize on {sample} of {len(overlays)} overlays, sequentially (then extrapolated)")
    B.run([kubectl, "kustomize", os.path.join(root, chosen[0])], what="kubectl kustomize (warm-up)")
    k_times: list[float] = []
    equal = identical = compared = 0
    mismatches: list[str] = []
    k_children0 = B.children_cpu()
    for rel in chosen:
        elapsed, kproc = B.run([kubectl, "kustomize", os.path.join(root, rel)], what=f"kubectl kustomize {rel}")
        k_times.append(elapsed)
        if rel in engine_errors:
            mismatches.append(f"{rel}: engine error: {engine_errors[rel]}")
            continue
        text = engine.render_yaml(os.path.join(root, rel), repo_root=root)
        compared += 1
        same = parse_docs(text) == parse_docs(kproc.stdout.decode())
        equal += same
        identical += text.encode() == kproc.stdout
        if not same:
            mismatches.append(f"{rel}: the engine's objects differ from kustomize's")
    k_cpu = B.children_cpu() - k_children0
    k_mean = statistics.mean(k_times)
    k_extrapolated = k_mean * len(overlays)
    workers = pooled["workers"]
    if workers > 1:
        log(f"bench: (b1) kubectl kustomize on the same {sample} overlays, {workers} processes at a time")
        k_conc_wall, _ = kubectl_concurrently(kubectl, root, chosen, workers)
    else:
        k_conc_wall = sum(k_times)
    k_conc_extrapolated = k_conc_wall / sample * len(overlays)
    k_cpu_extrapolated = k_cpu / sample * len(overlays)

    # (c) one large overlay vs a trivial one.
    large_dir, large_overlays, _ = write_large_overlay(root, overlays, counts, args.large_objects)
    trivial_dir = write_trivial_overlay(root)
    r = args.repeat
    log(f"bench: (c) large overlay ({large_overlays} model overlays) and trivial overlay, x{r} each")
    B.run([kubectl, "kustomize", large_dir], what="kubectl kustomize large (warm-up)")
    k_large, k_trivial = [], []
    large_out = b""
    for _ in range(r):
        elapsed, kproc = B.run([kubectl, "kustomize", large_dir], what="kubectl kustomize large overlay")
        k_large.append(elapsed)
        large_out = kproc.stdout
        k_trivial.append(B.run([kubectl, "kustomize", trivial_dir], what="kubectl kustomize trivial overlay")[0])
    large_objects = len([d for d in parse_docs(large_out.decode()) if d is not None])
    e_large, e_trivial = [], []
    large_error = None
    large_text = ""
    try:
        engine.render_objects(large_dir, repo_root=root)  # warm-up, like kubectl's
        for _ in range(r):
            t0 = time.perf_counter()
            engine.render_objects(large_dir, repo_root=root)
            e_large.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            engine.render_objects(trivial_dir, repo_root=root)
            e_trivial.append(time.perf_counter() - t0)
        large_text = engine.render_yaml(large_dir, repo_root=root)
    except Exception as exc:  # noqa: BLE001
        large_error = f"{type(exc).__name__}: {exc}"
    k_inproc = statistics.median(k_large) - statistics.median(k_trivial)

    ratio_all = k_conc_extrapolated / pooled["wall_s"] if pooled["wall_s"] > 0 else None
    ratio_one = k_extrapolated / engine_all_s if engine_all_s > 0 else None
    ratio_cpu = k_cpu_extrapolated / pooled["cpu_s"] if pooled["cpu_s"] > 0 else None
    ratio_large = (k_inproc / statistics.median(e_large)) if e_large else None
    procs = f"{workers} processes" if workers > 1 else "1 process"
    targets = [
        {"id": "all", "what": f"(a1) vs (b1): {len(overlays)} overlays, {procs} each, wall",
         "engine_s": round(pooled["wall_s"], 3), "kustomize_s": round(k_conc_extrapolated, 3),
         "kustomize_note": f"extrapolated from {sample} sampled overlays run {workers} at a time"
                           if workers > 1 else f"extrapolated from the mean of {sample} sampled overlays",
         "ratio": None if ratio_all is None else round(ratio_all, 2), "target": f">= {TARGET_RATIO_ALL:g}x",
         "pass": ratio_all is not None and ratio_all >= TARGET_RATIO_ALL and not engine_errors
         and not pooled["errors"]},
        {"id": "one-process", "what": f"(a2) vs (b2): {len(overlays)} overlays, 1 process at a time, wall",
         "engine_s": round(engine_all_s, 3), "kustomize_s": round(k_extrapolated, 3),
         "kustomize_note": f"extrapolated from the mean of {sample} sampled overlays",
         "ratio": None if ratio_one is None else round(ratio_one, 2), "target": "-", "pass": None},
        {"id": "cpu", "what": f"(a1) vs (b2): {len(overlays)} overlays, CPU time of all processes",
         "engine_s": round(pooled["cpu_s"], 3), "kustomize_s": round(k_cpu_extrapolated, 3),
         "kustomize_note": f"the kubectl processes' CPU time (user + system) for {sample} sampled overlays, "
                           "extrapolated",
         "ratio": None if ratio_cpu is None else round(ratio_cpu, 2), "target": "-", "pass": None},
        {"id": "large", "what": f"(c) large overlay, {large_objects} objects, per render",
         "engine_s": None if not e_large else round(statistics.median(e_large), 4),
         "kustomize_s": round(k_inproc, 4),
         "kustomize_note": "estimated as median kubectl wall time (large) - median kubectl wall time (trivial)",
         "ratio": None if ratio_large is None else round(ratio_large, 2), "target": f">= {TARGET_RATIO_LARGE:g}x",
         "pass": ratio_large is not None and ratio_large >= TARGET_RATIO_LARGE and large_error is None},
    ]
    large_equal = large_error is None and parse_docs(large_text) == parse_docs(large_out.decode())
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {"nproc": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "kubectl": " / ".join(B.run([kubectl, "version", "--client"], what="kubectl version")[1]
                                          .stdout.decode().strip().splitlines()),
                    "loadavg": None if load_before is None else {"before": load_before, "after": os.getloadavg()[0]}},
        "parameters": {"models": args.models, "envs": envs, "sample": sample, "large_objects": args.large_objects,
                       "repeat": r},
        "repo": {"overlays": len(overlays), "reused": bool(args.reuse),
                 "build_s": None if build_s is None else round(build_s, 3), "files_written": files_written,
                 "objects_rendered_by_engine": sum(counts.values())},
        "pooled": {"workers": workers, "usable_cores": len(os.sched_getaffinity(0))
                   if hasattr(os, "sched_getaffinity") else os.cpu_count(),
                   "all_overlays_s": round(pooled["wall_s"], 3), "all_overlays_cpu_s": round(pooled["cpu_s"], 3),
                   "per_overlay_ms": round(pooled["wall_s"] / len(overlays) * 1000, 3),
                   "objects": pooled["objects"], "errors": len(pooled["errors"]),
                   "first_errors": dict(list(pooled["errors"].items())[:5])},
        "engine": {"import_s": round(import_s, 4), "all_overlays_s": round(engine_all_s, 3),
                   "all_overlays_cpu_s": round(engine_all_cpu, 3),
                   "per_overlay_mean_ms": round(statistics.mean(per_overlay) * 1000, 3),
                   "per_overlay_median_ms": median_ms(per_overlay),
                   "errors": len(engine_errors), "first_errors": dict(list(engine_errors.items())[:5]),
                   "large_median_ms": median_ms(e_large) if e_large else None,
                   "trivial_median_ms": median_ms(e_trivial) if e_trivial else None,
                   "large_error": large_error},
        "kustomize": {"sampled": sample, "mean_ms": round(k_mean * 1000, 3), "median_ms": median_ms(k_times),
                      "min_ms": round(min(k_times) * 1000, 3), "sample_total_s": round(sum(k_times), 3),
                      "extrapolated_all_s": round(k_extrapolated, 3),
                      "cpu_mean_ms": round(k_cpu / sample * 1000, 3),
                      "extrapolated_all_cpu_s": round(k_cpu_extrapolated, 3),
                      "concurrent_processes": workers, "concurrent_sample_s": round(k_conc_wall, 3),
                      "concurrent_per_overlay_ms": round(k_conc_wall / sample * 1000, 3),
                      "concurrent_extrapolated_all_s": round(k_conc_extrapolated, 3),
                      "large_median_ms": median_ms(k_large), "trivial_median_ms": median_ms(k_trivial),
                      "large_inprocess_estimate_ms": round(k_inproc * 1000, 3)},
        "large_overlay": {"model_overlays": large_overlays, "objects": large_objects, "outputs_equal": large_equal,
                          "byte_identical": large_error is None and large_text.encode() == large_out},
        "correctness": {"sampled_compared": compared, "sampled_equal": equal, "sampled_byte_identical": identical,
                        "mismatches": mismatches[:10]},
        "targets": targets,
    }


def fmt_s(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f} s" if value >= 1 else f"{value * 1000:.1f} ms"


def print_report(res: dict) -> None:
    p, e, k, c, pool = res["parameters"], res["engine"], res["kustomize"], res["correctness"], res["pooled"]
    n = res["repo"]["overlays"]
    print(f"render benchmark  {res['date']}")
    print(f"machine: nproc={res['machine']['nproc']} (usable: {pool['usable_cores']})  "
          f"python={res['machine']['python']}  {res['machine']['platform']}")
    print(f"tools:   {res['machine']['kubectl']}")
    made = ("an existing repository (--reuse)" if res["repo"]["reused"]
            else f"mlgitops build {res['repo']['build_s']:.1f} s, untimed")
    size = (f"{n} overlays" if res["repo"]["reused"]
            else f"{p['models']} models x {len(p['envs'])} environments = {n} overlays")
    print(f"repo:    {size} ({made}); the engine rendered {res['repo']['objects_rendered_by_engine']} objects")
    print()
    procs = f"{pool['workers']} worker process{'es' if pool['workers'] > 1 else ''}"
    print(f"(a1) engine, fork pool ({procs}, mlgitops.pool, objects sent back to the parent): "
          f"{n} overlays in {fmt_s(pool['all_overlays_s'])} wall "
          f"({pool['per_overlay_ms']:.2f} ms per overlay), CPU {fmt_s(pool['all_overlays_cpu_s'])} (all processes); "
          f"engine errors: {pool['errors']}")
    for rel, err in pool["first_errors"].items():
        print(f"      {rel}: {err}")
    print(f"(a2) engine, one process: {n} overlays in {fmt_s(e['all_overlays_s'])} wall, CPU "
          f"{fmt_s(e['all_overlays_cpu_s'])} (mean {e['per_overlay_mean_ms']:.2f} ms, median "
          f"{e['per_overlay_median_ms']:.2f} ms per overlay; import {fmt_s(e['import_s'])}, not included); "
          f"engine errors: {e['errors']}")
    for rel, err in e["first_errors"].items():
        print(f"      {rel}: {err}")
    print(f"(b2) kubectl kustomize, one process per overlay: {k['sampled']} sampled overlays, sequentially: mean "
          f"{k['mean_ms']:.1f} ms, median {k['median_ms']:.1f} ms, min {k['min_ms']:.1f} ms wall, "
          f"{k['cpu_mean_ms']:.1f} ms CPU; EXTRAPOLATED to {n} overlays: {fmt_s(k['extrapolated_all_s'])} wall, "
          f"{fmt_s(k['extrapolated_all_cpu_s'])} CPU")
    if k["concurrent_processes"] > 1:
        print(f"(b1) kubectl kustomize, the same {k['sampled']} overlays, {k['concurrent_processes']} processes at a "
              f"time: {fmt_s(k['concurrent_sample_s'])} ({k['concurrent_per_overlay_ms']:.1f} ms per overlay); "
              f"EXTRAPOLATED to {n} overlays: {fmt_s(k['concurrent_extrapolated_all_s'])}")
    else:
        print("(b1) one usable core: (b1) is (b2)")
    print(f"    sampled outputs: {c['sampled_equal']}/{c['sampled_compared']} equal objects, "
          f"{c['sampled_byte_identical']}/{c['sampled_compared']} byte-identical")
    for m in c["mismatches"]:
        print(f"      {m}")
    lo = res["large_overlay"]
    print(f"(c) large overlay: {lo['model_overlays']} model overlays, {lo['objects']} objects; engine median "
          f"{fmt_s(e['large_median_ms'] and e['large_median_ms'] / 1000)} per render (trivial overlay "
          f"{fmt_s(e['trivial_median_ms'] and e['trivial_median_ms'] / 1000)}); kubectl kustomize median "
          f"{k['large_median_ms']:.1f} ms, trivial overlay {k['trivial_median_ms']:.1f} ms -> kustomize's in-process "
          f"time ESTIMATED as the difference: {k['large_inprocess_estimate_ms']:.1f} ms")
    print(f"    outputs equal: {lo['outputs_equal']}, byte-identical: {lo['byte_identical']}"
          + (f"; engine error: {e['large_error']}" if e["large_error"] else ""))
    print()
    head = ("target", "engine", "kustomize", "ratio", "target", "result")
    rows = [(t["what"], fmt_s(t["engine_s"]), fmt_s(t["kustomize_s"]) + "*",
             "-" if t["ratio"] is None else f"{t['ratio']:.1f}x", t["target"],
             "info" if t["pass"] is None else "PASS" if t["pass"] else "FAIL")
            for t in res["targets"]]
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths)))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths))))
    print("ratio = kustomize time / engine time (>1: the engine is faster). The target for all overlays applies to "
          "(a1) vs (b1): both tools on the same cores, as users run them (mlgitops check renders in a fork pool; "
          "kubectl kustomize runs once per overlay)")
    for t in res["targets"]:
        print(f"* {t['what']}: the kustomize time is {t['kustomize_note']}")
    load = res["machine"]["loadavg"]
    if load:
        print(f"load average (1 min) before/after: {load['before']:.2f} / {load['after']:.2f} on "
              f"{res['machine']['nproc']} cores (other processes share the machine when it exceeds ~0.5)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=1000, metavar="N", help="synthetic models (default 1000)")
    parser.add_argument("--envs", type=int, default=3, metavar="K", help="environments (default 3)")
    parser.add_argument("--sample", type=int, default=60, metavar="S",
                        help="overlays rendered with kubectl kustomize, then extrapolated (default 60)")
    parser.add_argument("--large-objects", type=int, default=500, metavar="M",
                        help="objects the large overlay renders at least (default 500)")
    parser.add_argument("--repeat", type=int, default=5, metavar="R", help="renders of the large overlay (default 5)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--keep", metavar="DIR",
                       help="create the synthetic repository in DIR (new or empty) and keep it")
    where.add_argument("--reuse", metavar="DIR",
                       help="use the repository an earlier --keep DIR run made (not regenerated, not built, kept)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    args = parser.parse_args()
    if min(args.models, args.envs, args.sample, args.large_objects, args.repeat) < 1:
        parser.error("--models, --envs, --sample, --large-objects and --repeat must be at least 1")
    kubectl = B.venv_tool("kubectl")
    if not kubectl:
        log("bench: kubectl not found next to this interpreter or on PATH (make venv)")
        return 2
    if args.reuse:
        root = os.path.abspath(args.reuse)
        if not os.path.isdir(os.path.join(root, "overlays")):
            parser.error(f"--reuse {args.reuse}: no overlays/ there (make one with --keep DIR)")
    else:
        root = B.work_dir(parser, args.keep, "mlgitops-render-bench-")
    try:
        results = bench(args, root, kubectl)
    except B.BenchError as exc:
        log(f"bench: FAILED: {exc}")
        return 1
    finally:
        if not args.keep and not args.reuse:
            shutil.rmtree(root, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
