"""Catalog Lambda cold start: this handler vs the naive original, against local AWS.

In one run, against one moto server and one seeded table, each variant is run in fresh
Python processes (round-robin, so drift hits all alike). Each process measures:

- init: importing the handler module (what Lambda's Init phase runs);
- first: the first invocation (`GET /llms`), which pays for whatever init deferred;
- cold = init + first: what the first user of a new execution environment waits for;
- warm p50: the median of 2000 further invocations in the same process (from cache
  for the catalog; a Scan per call for the naive baseline).

Variants: (a) the naive baseline (bench/baselines/naive_catalog.py), (b) the catalog
handler as deployed on-demand (stdlib DynamoDB client), (c) the same handler forced to
boto3 (CATALOG_DYNAMODB_CLIENT=boto3), to show what that one lever is worth, and (d) the
handler with CATALOG_PRIME_AT_INIT=true, the SnapStart configuration, where the work
moves into init on purpose (the snapshot pays it once, not each cold start).
Goal from issue 9: cold(b) <= 0.6 x cold(a). Interpreter start-up is the same for all
and is not counted.

    .venv/bin/python bench/catalog_cold_start.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from catalog.seed import DEFAULT_ROWS, ensure_table, seed  # noqa: E402
from tools import localaws  # noqa: E402

CHILD = """
import io, json, sys, time
sys.path.insert(0, {root!r})
event = {{"version": "2.0", "rawPath": "/llms", "headers": {{}},
          "requestContext": {{"http": {{"method": "GET"}}, "stage": "$default"}}}}
t0 = time.perf_counter()
module = __import__({module!r}, fromlist=["lambda_handler"])
t1 = time.perf_counter()
first = module.lambda_handler(event, None)
t2 = time.perf_counter()
assert first["statusCode"] == 200, first
warm = []
for _ in range({warm}):
    started = time.perf_counter()
    module.lambda_handler(event, None)
    warm.append(time.perf_counter() - started)
warm.sort()
print(json.dumps({{"init": t1 - t0, "first": t2 - t1, "warm_p50": warm[len(warm) // 2],
                  "models": len(json.loads(first["body"]))}}), file=sys.stderr)
"""

VARIANTS = {
    "naive": ("bench.baselines.naive_catalog", {}),
    "catalog": ("catalog.handler", {}),
    "catalog-boto3": ("catalog.handler", {"CATALOG_DYNAMODB_CLIENT": "boto3"}),
    "snapstart": ("catalog.handler", {"CATALOG_PRIME_AT_INIT": "true"}),
}


def run_once(module: str, env: dict[str, str], warm: int) -> dict[str, float]:
    code = CHILD.format(root=str(ROOT), module=module, warm=warm)
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        stdout=subprocess.DEVNULL,  # the handler's JSON logs and EMF lines
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{module} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stderr.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh processes per variant")
    parser.add_argument("--warm", type=int, default=2000, help="warm invocations per process")
    args = parser.parse_args()

    moto = localaws.start_moto()
    try:
        url = localaws.endpoint_url(moto)
        base_env = {"PATH": "/usr/bin:/bin", **localaws.client_env(url)}
        table_name = f"llm_scores_bench_{uuid.uuid4().hex[:8]}"
        import boto3

        client = boto3.client(
            "dynamodb",
            region_name=localaws.REGION,
            endpoint_url=url,
            aws_access_key_id=base_env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=base_env["AWS_SECRET_ACCESS_KEY"],
        )
        ensure_table(client, table_name)
        seed(client, table_name, DEFAULT_ROWS)
        base_env["TABLE_NAME"] = table_name

        samples: dict[str, list[dict[str, float]]] = {name: [] for name in VARIANTS}
        for _ in range(args.runs):
            for name, (module, extra) in VARIANTS.items():
                samples[name].append(run_once(module, {**base_env, **extra}, args.warm))
    finally:
        moto.stop()

    def median(name: str, key: str) -> float:
        return statistics.median(sample[key] for sample in samples[name])

    baseline = median("naive", "init") + median("naive", "first")
    print(f"catalog cold start, {args.runs} fresh processes per variant, medians (ms)")
    print(f"{'variant':14} {'init':>8} {'first':>8} {'cold':>8} {'vs naive':>9} {'warm p50':>10}")
    for name in VARIANTS:
        init, first = median(name, "init") * 1000, median(name, "first") * 1000
        cold = init + first
        warm_us = median(name, "warm_p50") * 1e6
        print(
            f"{name:14} {init:8.1f} {first:8.1f} {cold:8.1f} {cold / (baseline * 1000):8.2f}x "
            f"{warm_us:8.1f} us"
        )
    ratio = (median("catalog", "init") + median("catalog", "first")) / baseline
    verdict = "meets" if ratio <= 0.6 else "MISSES"
    print(f"goal cold(catalog) <= 0.6 x cold(naive): {ratio:.2f}x, {verdict} the goal")


if __name__ == "__main__":
    main()
