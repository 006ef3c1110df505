"""The Python baseline of the Textract benchmark (benches/textract.rs runs it).

What a Python Lambda would do for the same check: load the whole response with the standard
`json` module, then evaluate ImportantFormKeyConfidenceCheck with ImportantFormKey "*" on
every key-value pair of every page, with the semantics of the Rust crate (key and value text
from WORD children, selection elements as their status in the value, a pair holds when its
key-value confidence meets every KeyValueBlock comparison or each of its words meets every
WordBlock comparison).

Usage: python3 textract_check.py FILE KV_LESS_THAN WORD_LESS_THAN
Prints one line: seconds peak_rss_kib hits
"""
import json
import resource
import sys
import time


def field(obj, pascal, camel):
    return obj[pascal] if pascal in obj else obj.get(camel)


def related(block, kind):
    ids = []
    for rel in field(block, "Relationships", "relationships") or []:
        if field(rel, "Type", "type") == kind:
            ids.extend(field(rel, "Ids", "ids") or [])
    return ids


def children(block, by_id, with_selections, text, confidences):
    for child_id in related(block, "CHILD"):
        child = by_id.get(child_id)
        if child is None:
            continue
        kind = field(child, "BlockType", "blockType")
        if kind == "WORD":
            text.append(field(child, "Text", "text") or "")
            confidences.append(field(child, "Confidence", "confidence"))
        elif kind == "SELECTION_ELEMENT" and with_selections:
            text.append(field(child, "SelectionStatus", "selectionStatus") or "")


def main():
    path, kv_less, word_less = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    started = time.perf_counter()
    with open(path, "rb") as f:
        item = json.load(f)
    responses = item if isinstance(item, list) else [item]
    blocks = [b for r in responses for b in field(r, "Blocks", "blocks")]
    by_id = {}
    for b in blocks:
        block_id = field(b, "Id", "id")
        if block_id is not None:
            by_id[block_id] = b
    hits = 0
    for b in blocks:
        if field(b, "BlockType", "blockType") != "KEY_VALUE_SET":
            continue
        if "KEY" not in (field(b, "EntityTypes", "entityTypes") or []):
            continue
        key_text, words = [], []
        children(b, by_id, False, key_text, words)
        value_text = []
        for value_id in related(b, "VALUE"):
            value = by_id.get(value_id)
            if value is not None:
                children(value, by_id, True, value_text, words)
        " ".join(" ".join(key_text).split())  # the key text, as matching needs it ("*" matches all)
        kv_holds = field(b, "Confidence", "confidence") < kv_less
        words_hold = bool(words) and all(c < word_less for c in words)
        if kv_holds or words_hold:
            hits += 1
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{seconds:.6f} {peak} {hits}")


main()
