"""Speed of the matching engine: one match on a large catalog, index build, memory, server start to first answer.

    .venv/bin/python bench/match_speed.py [--policies 2000] [--rounds 5] [--no-server] [--no-semantic]

With the semantic layer (the product's default, `embedder = "e5"`), beside the lexical engine as the baseline:
- index build from scratch for N policies (every policy text embedded) and the classifiers' fit on the seed
  examples; then the re-index after one policy changed (the live index's quick path: one policy re-embedded,
  the fit kept until the background refit);
- p50/p99 of one match, pinned to one core, over messages never seen before (the holdout's texts, whose
  vectors no cache holds; only their texts are read, nothing is scored), so every match embeds its message;
- the resident set after loading the model and the index.

- p50/p99 of one Matcher.match on a catalog of N policies made by varying the demo catalog (names,
  keywords and content get district, industry and year variants, so no two policies are equal), over
  the labelled messages of tests/data, pinned to one core;
- time to build the index for N policies (jieba's dictionary already loaded, as in a live rebuild),
  the memory the loaded index keeps (tracemalloc, after the build's temporaries are freed) and the
  growth of the process's resident set during the build (the allocator keeps freed pages);
- `appealbot serve` started in a subprocess on a fresh SQLite file: seconds from the start of the
  process to the first signed WeChat text message answered with the bot's reply.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from intents.matcher import Matcher  # noqa: E402
from intents.records import CategoryDoc, PolicyDoc  # noqa: E402
from intents.segment import Segmenter  # noqa: E402
from policies.catalog import doc_from_record, read_demo_catalog  # noqa: E402
from routing.table import category_doc_from_record, read_default_table  # noqa: E402

MESSAGES = ROOT / "tests" / "data" / "messages.jsonl"
UNSEEN = ROOT / "tests" / "data" / "eval" / "holdout" / "messages.jsonl"
PLACES = ["莲湖区", "碑林区", "新城区", "雁塔区", "未央区", "灞桥区", "长安区", "高新区", "经开区", "曲江新区"]
SECTORS = ["制造业", "软件业", "商贸业", "文旅业", "建筑业", "物流业", "餐饮业", "科技服务业", "农业", "金融业"]
YEARS = ["2024年度", "2025年度", "2026年度", "2027年度"]


def rss_bytes() -> int:
    """Resident set size of this process (Linux /proc)."""
    with open("/proc/self/statm", encoding="ascii") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def varied_catalog(size: int) -> list[PolicyDoc]:
    """`size` distinct policies made from the demo catalog by adding place, sector and year variants."""
    base = [doc_from_record(record) for record in read_demo_catalog()]
    docs = []
    for number in range(size):
        doc = base[number % len(base)]
        place = PLACES[number % len(PLACES)]
        sector = SECTORS[(number // len(PLACES)) % len(SECTORS)]
        year = YEARS[(number // (len(PLACES) * len(SECTORS))) % len(YEARS)]
        docs.append(
            replace(
                doc,
                code=f"V{number:05d}",
                name=f"{place}{year}{doc.name}（{sector}）",
                body=doc.body.replace("莲湖区", place),
                content=f"{doc.content}本条适用于{place}{sector}企业，执行期间为{year}。",
                keywords=(*doc.keywords, f"{sector}{doc.keywords[0] if doc.keywords else doc.name}"),
                tags=(*doc.tags, ("街道", place), ("行业", sector)),
            )
        )
    return docs


def match_latency(matcher: Matcher, texts: list[str], rounds: int) -> list[float]:
    """Milliseconds of each match, every text `rounds` times."""
    for text in texts:  # warm caches (pinyin of characters, jieba routes)
        matcher.match(text)
    timings = []
    for _ in range(rounds):
        for text in texts:
            started = time.perf_counter_ns()
            matcher.match(text)
            timings.append((time.perf_counter_ns() - started) / 1e6)
    return timings


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


FIT_CACHE = tempfile.mkdtemp(prefix="appealbot-bench-fit-")


def start_to_first_answer(timeout: float = 120.0, *, embedder: str = "e5") -> tuple[float, str]:
    """Seconds from starting `appealbot serve` on a fresh SQLite file to a signed text message answered."""
    import httpx

    from bot.platform.settings import load
    from bot.wechat.peer import Peer

    settings = load(environ={})
    wechat = settings.wechat
    peer = Peer(token=wechat.token, app_id=wechat.app_id, encoding_aes_key=wechat.encoding_aes_key, mode=wechat.mode)
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "APPEALBOT_DATABASE_URL": f"sqlite:///{folder}/bench.db",
            "APPEALBOT_LOG_FORMAT": "text",
            "APPEALBOT_LOG_LEVEL": "WARNING",
            "APPEALBOT_MATCHING_EMBEDDER": embedder,
            "APPEALBOT_MATCHING_CACHE_DIR": FIT_CACHE,
        }
        command = [str(Path(sys.executable).with_name("appealbot")), "serve", "--port", str(port), "--no-worker"]
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            openid = "o_bench_" + secrets.token_hex(4)
            while time.perf_counter() - started < timeout:
                if process.poll() is not None:
                    raise RuntimeError("server exited: " + (process.stderr.read() if process.stderr else ""))
                xml = (
                    f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
                    f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
                    f"<Content><![CDATA[稳岗返还怎么申请]]></Content><MsgId>{secrets.randbelow(10**15)}</MsgId></xml>"
                )
                query, body = peer.request_xml(xml, openid=openid)
                try:
                    response = httpx.post(f"http://127.0.0.1:{port}/wechat", params=query, content=body, timeout=5)
                except httpx.TransportError:
                    time.sleep(0.02)
                    continue
                reply = peer.open_reply(response.content) if response.status_code == 200 else None
                if reply and reply.get("Content"):
                    return time.perf_counter() - started, str(reply["Content"]).splitlines()[0]
                time.sleep(0.02)
            raise TimeoutError("no answer")
        finally:
            process.terminate()
            process.wait(timeout=30)


def semantic_figures(docs: list[PolicyDoc], categories: list[CategoryDoc], rounds: int) -> None:
    """Build, re-index, latency and memory with the semantic layer on."""
    from dataclasses import replace as changed

    from bot.chat.learning import open_semantic
    from intents.records import Example
    from routing.examples import read_seed

    semantic, choice = open_semantic("e5")
    if semantic is None:
        print(f"semantic layer unavailable here: {choice.problem}")
        return
    examples = [Example(row.text, row.intent, row.category, row.unit) for row in read_seed()]
    started = time.perf_counter()
    matcher = Matcher(docs, categories, semantic=semantic)
    embedded = time.perf_counter() - started
    started = time.perf_counter()
    matcher = matcher.learn(examples)
    fitted = time.perf_counter() - started
    print(
        f"semantic index build for {len(docs)} policies from scratch: {embedded:.1f} s (every policy embedded), "
        f"classifiers fitted on {len(examples)} examples in {fitted:.1f} s"
    )
    edited = [changed(docs[0], content=docs[0].content + "（2026年起补贴标准提高）"), *docs[1:]]
    started = time.perf_counter()
    again = Matcher(edited, categories, semantic=semantic).learn(examples, refit=False, learned=matcher.learned)
    print(
        f"re-index after one policy changed: {time.perf_counter() - started:.2f} s (one policy re-embedded; "
        f"{semantic.cache.computed} texts embedded in all so far)"
    )
    texts = [json.loads(line)["text"] for line in UNSEEN.read_text(encoding="utf-8").splitlines() if line.strip()]
    timings = []
    for text in texts:  # each first time: the message is embedded
        begun = time.perf_counter_ns()
        again.match(text)
        timings.append((time.perf_counter_ns() - begun) / 1e6)
    print(
        f"one match with the semantic layer on {len(docs)} policies, one core, {len(timings)} unseen messages: "
        f"p50 {statistics.median(timings):.1f} ms, p99 {percentile(timings, 0.99):.1f} ms, max {max(timings):.1f} ms"
    )
    repeat = match_latency(again, texts[:100], rounds)
    print(f"  the same messages again (vector cached): p50 {statistics.median(repeat):.1f} ms")
    print(f"resident set with the model and both indexes loaded: {rss_bytes() / 2**20:.0f} MiB")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--policies", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-server", action="store_true", help="skip the server start measurement")
    parser.add_argument("--no-semantic", action="store_true", help="the lexical engine only")
    parser.add_argument("--server-runs", type=int, default=3)
    args = parser.parse_args()
    if not args.no_server:  # first, before this process is pinned to one core (the server would inherit it)
        for label, embedder in (("lexical", "none"), ("semantic", "e5")):
            runs = [start_to_first_answer(embedder=embedder) for _ in range(args.server_runs)]
            seconds = sorted(run[0] for run in runs)
            print(
                f"server start to first answered message, {label} ({len(runs)} runs, the first with no fit cached): "
                + ", ".join(f"{value:.2f} s" for value in seconds)
                + f" (reply began “{runs[0][1]}”)"
            )
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    categories = [category_doc_from_record(record) for record in read_default_table()["categories"]]
    texts = [json.loads(line)["text"] for line in MESSAGES.read_text(encoding="utf-8").splitlines() if line.strip()]
    started = time.perf_counter()
    Segmenter([], lexicon=Matcher([], []).lexicon)  # jieba's dictionary, once per process
    print(f"jieba dictionary and lexicon load: {time.perf_counter() - started:.2f} s (once per process, at start-up)")
    docs = varied_catalog(args.policies)
    gc.collect()
    before = rss_bytes()
    started = time.perf_counter()
    matcher = Matcher(docs, categories)
    build = time.perf_counter() - started
    gc.collect()
    grown = rss_bytes() - before
    del matcher
    gc.collect()
    tracemalloc.start()
    kept = Matcher(docs, categories)
    gc.collect()
    retained = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    matcher = kept
    print(
        f"lexical index build for {len(docs)} policies: {build:.2f} s; "
        f"memory kept by the index: {retained / 2**20:.1f} MiB "
        f"(resident set grew {grown / 2**20:.1f} MiB during the build)"
    )
    timings = match_latency(matcher, texts, args.rounds)
    print(
        f"one lexical match on {len(docs)} policies, one core, {len(timings)} matches: "
        f"p50 {statistics.median(timings):.2f} ms, p99 {percentile(timings, 0.99):.2f} ms, "
        f"max {max(timings):.2f} ms"
    )
    if not args.no_semantic:
        del kept, matcher
        gc.collect()
        semantic_figures(docs, categories, args.rounds)
    small = Matcher([doc_from_record(record) for record in read_demo_catalog()], categories)
    small_timings = match_latency(small, texts, args.rounds)
    print(
        f"one lexical match on the demo catalog: p50 {statistics.median(small_timings):.2f} ms, "
        f"p99 {percentile(small_timings, 0.99):.2f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
