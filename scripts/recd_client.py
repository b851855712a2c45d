#!/usr/bin/python3
"""A small command-line client for recd, generated from proto/ at run time.

Uses Debian's python3-grpcio and python3-grpc-tools (run it with
/usr/bin/python3: a pyenv python3 earlier on PATH cannot import them).

  scripts/recd_client.py recommend demo-user-0 --k 10
  scripts/recd_client.py track demo-user-0 demo-item-42 click
  scripts/recd_client.py upsert my-item --category news --tag breaking
  scripts/recd_client.py get demo-item-42
  scripts/recd_client.py delete my-item
  scripts/recd_client.py related demo-item-42 --k 5
  scripts/recd_client.py live-demo demo-user-7 --category sports
      (recommend, click four items of a category, recommend again: the
       list shifts toward it as soon as the events are folded in)
Address: --addr HOST:PORT (default localhost:50051).
"""
import argparse
import importlib
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_stubs():
    """Generates the Python stubs of proto/recd/v1/recd.proto into a temp dir."""
    import grpc_tools
    from grpc_tools import protoc
    out = tempfile.mkdtemp(prefix="recd-stubs-")
    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    args = ["protoc", "-I", os.path.join(ROOT, "proto"), "-I", well_known,
            "--python_out", out, "--grpc_python_out", out, "recd/v1/recd.proto"]
    if protoc.main(args) != 0:
        sys.exit("recd_client: protoc failed")
    sys.path.insert(0, out)
    return (importlib.import_module("recd.v1.recd_pb2"),
            importlib.import_module("recd.v1.recd_pb2_grpc"))


def print_items(items, categories_of=None):
    for it in items:
        reasons = ", ".join(f"{x.source} {x.contribution:.3f}" for x in it.reasons)
        cats = f" {','.join(categories_of(it.item_id)):10s}" if categories_of else ""
        print(f"{it.position:3d}  {it.item_id:24s}{cats} {it.score:.3f}  [{reasons}]")


def recommend_once(pb, rec, user, k, categories=()):
    req = pb.RecommendRequest(user_id=user, k=k, include_categories=list(categories))
    items, folded = [], 0
    for page in rec.Recommend(req):
        if page.recommendation_id:
            folded = page.folded_sequence
        items.extend(page.items)
    return items, folded


def live_demo(pb, rec, cat, a):
    cache = {}

    def categories_of(item_id):
        if item_id not in cache:
            cache[item_id] = list(cat.GetItem(pb.GetItemRequest(item_id=item_id)).categories)
        return cache[item_id]

    def share(items):
        return sum(a.category in categories_of(i.item_id) for i in items) / max(1, len(items))

    before, _ = recommend_once(pb, rec, a.user, 10)
    print(f"before: {share(before):.0%} of the top 10 in '{a.category}'")
    print_items(before, categories_of)
    # Items whose main (first) category is the one asked for.
    candidates, _ = recommend_once(pb, rec, a.user, a.clicks * 10, [a.category])
    picks = [i for i in candidates if categories_of(i.item_id)[:1] == [a.category]][:a.clicks]
    if not picks:
        sys.exit(f"no items in category {a.category}")
    events = [pb.Event(user_id=a.user, session_id=a.user + "-live", item_id=i.item_id, type="click")
              for i in picks]
    start = time.perf_counter()
    resp = rec.Track(pb.TrackRequest(events=events))
    print(f"\nclicked {', '.join(i.item_id for i in picks)} (sequence {resp.last_sequence})")
    while True:  # the fold-in runs in the background: wait for it, not for a fixed time
        after, folded = recommend_once(pb, rec, a.user, 10)
        if folded >= resp.last_sequence:
            break
    print(f"after ({(time.perf_counter() - start) * 1000:.1f} ms from Track to the new list): "
          f"{share(after):.0%} in '{a.category}'")
    print_items(after, categories_of)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--addr", default="localhost:50051")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("recommend")
    r.add_argument("user")
    r.add_argument("--k", type=int, default=10)
    r.add_argument("--page-size", type=int, default=0)
    r.add_argument("--surface", default="")
    r.add_argument("--session", action="store_true", help="USER is an anonymous session id")
    t = sub.add_parser("track")
    t.add_argument("user")
    t.add_argument("item")
    t.add_argument("type")
    u = sub.add_parser("upsert")
    u.add_argument("id")
    u.add_argument("--category", action="append", default=[])
    u.add_argument("--tag", action="append", default=[])
    rel = sub.add_parser("related")
    rel.add_argument("item")
    rel.add_argument("--k", type=int, default=10)
    live = sub.add_parser("live-demo")
    live.add_argument("user")
    live.add_argument("--category", default="sports")
    live.add_argument("--clicks", type=int, default=4)
    g = sub.add_parser("get")
    g.add_argument("id")
    d = sub.add_parser("delete")
    d.add_argument("id")
    a = p.parse_args()

    pb, rpc = load_stubs()
    import grpc
    channel = grpc.insecure_channel(a.addr)
    rec, cat = rpc.RecommenderStub(channel), rpc.CatalogStub(channel)
    try:
        if a.cmd == "recommend":
            req = pb.RecommendRequest(k=a.k, page_size=a.page_size, surface=a.surface)
            if a.session:
                req.session_id = a.user
            else:
                req.user_id = a.user
            start = time.perf_counter()
            for page in rec.Recommend(req):
                if page.recommendation_id:
                    print(f"recommendation {page.recommendation_id} (model {page.model_version}, "
                          f"folded seq {page.folded_sequence})")
                print_items(page.items)
            print(f"({(time.perf_counter() - start) * 1000:.1f} ms)")
        elif a.cmd == "related":
            for page in rec.RelatedItems(pb.RelatedItemsRequest(item_id=a.item, k=a.k)):
                print_items(page.items)
        elif a.cmd == "live-demo":
            live_demo(pb, rec, cat, a)
        elif a.cmd == "track":
            resp = rec.Track(pb.TrackRequest(events=[pb.Event(user_id=a.user, item_id=a.item, type=a.type)]))
            print(f"accepted {resp.accepted}, sequence {resp.last_sequence}")
        elif a.cmd == "upsert":
            item = pb.Item(id=a.id, categories=a.category, tags=a.tag)
            resp = cat.UpsertItems(iter([pb.UpsertItemsRequest(items=[item])]))
            print(f"upserted {resp.upserted}")
        elif a.cmd == "get":
            print(cat.GetItem(pb.GetItemRequest(item_id=a.id)))
        elif a.cmd == "delete":
            resp = cat.DeleteItems(pb.DeleteItemsRequest(item_ids=[a.id]))
            print(f"deleted {resp.deleted}, not found {resp.not_found}")
    except grpc.RpcError as e:
        sys.exit(f"{e.code().name}: {e.details()}")


if __name__ == "__main__":
    main()
