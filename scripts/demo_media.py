"""Draws the demo's raw media and writes the model answers a2i-local replays for them.

Run through scripts/demo-media.sh (a pinned Pillow in a project-local venv). Writes, under
crates/a2i-review-cli/demo/raw-media/:

  claim-form.png       a one-page insurance claim form; one value ("Claim amount:") is
                       handwritten and smudged
  beach.jpg            a drawn beach scene with a swimmer (harmless; a moderation model may
                       still say "Swimwear or Underwear" with middling confidence)
  lighthouse.png       a drawn lighthouse on a hill (nothing to moderate)
  recorded/*.json      one a2i-local recording per image (crates/a2i-local/src/builtin/
                       recorded.rs): matched by the image's SHA-256, the response in the
                       service's own shape. The Textract geometry is measured from where the
                       text was drawn, so the review UI's boxes sit on the words.

The responses are authored, not recorded from the services: each file says so in "note".
Everything is deterministic (fixed ids, fixed confidences), so running the script again on
the same fonts and Pillow version rewrites identical files.
"""

import hashlib
import json
import sys
import uuid
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

OUT = Path(__file__).resolve().parent.parent / "crates/a2i-review-cli/demo/raw-media"
FONT_DIRS = [
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts"),
]
ID_NAMESPACE = uuid.UUID("6f1c0a52-4d7e-4b8e-9a51-3c2f00a2a2a1")
NOTE = (
    "Authored for the a2i-review demo by scripts/demo_media.py in the service's response "
    "shape; not recorded from the service."
)


def font(name, size):
    for d in FONT_DIRS:
        if (d / name).is_file():
            return ImageFont.truetype(str(d / name), size)
    sys.exit(f"demo-media: font {name} not found in {', '.join(map(str, FONT_DIRS))} "
             "(install the DejaVu fonts: apt-get install fonts-dejavu-core fonts-dejavu-extra)")


class Blocks:
    """Textract blocks of one page, PascalCase as AnalyzeDocument returns them."""

    def __init__(self, doc, width, height):
        self.doc, self.w, self.h = doc, width, height
        self.blocks, self.n = [], 0
        self.page_children = []

    def new_id(self):
        self.n += 1
        return str(uuid.uuid5(ID_NAMESPACE, f"{self.doc}/{self.n}"))

    def geometry(self, box):
        left, top, right, bottom = box
        l, t = left / self.w, top / self.h
        r, b = right / self.w, bottom / self.h
        return {
            "BoundingBox": {"Width": round(r - l, 6), "Height": round(b - t, 6),
                            "Left": round(l, 6), "Top": round(t, 6)},
            "Polygon": [{"X": round(x, 6), "Y": round(y, 6)}
                        for x, y in ((l, t), (r, t), (r, b), (l, b))],
        }

    def word(self, text, box, confidence, text_type="PRINTED"):
        block = {"BlockType": "WORD", "Confidence": confidence, "Text": text,
                 "TextType": text_type, "Geometry": self.geometry(box), "Id": self.new_id()}
        self.blocks.append(block)
        return block

    def line(self, words):
        box = union([w["_box"] for w in words])
        conf = round(sum(w["Confidence"] for w in words) / len(words), 4)
        block = {"BlockType": "LINE", "Confidence": conf,
                 "Text": " ".join(w["Text"] for w in words),
                 "Geometry": self.geometry(box), "Id": self.new_id(),
                 "Relationships": [{"Type": "CHILD", "Ids": [w["Id"] for w in words]}]}
        self.blocks.append(block)
        self.page_children.append(block["Id"])
        return block

    def pair(self, key_words, value_words, confidence):
        key_id, value_id = self.new_id(), self.new_id()
        key = {"BlockType": "KEY_VALUE_SET", "Confidence": confidence,
               "Geometry": self.geometry(union([w["_box"] for w in key_words])),
               "Id": key_id,
               "Relationships": [{"Type": "VALUE", "Ids": [value_id]},
                                 {"Type": "CHILD", "Ids": [w["Id"] for w in key_words]}],
               "EntityTypes": ["KEY"]}
        value = {"BlockType": "KEY_VALUE_SET", "Confidence": confidence,
                 "Geometry": self.geometry(union([w["_box"] for w in value_words])),
                 "Id": value_id,
                 "Relationships": [{"Type": "CHILD", "Ids": [w["Id"] for w in value_words]}],
                 "EntityTypes": ["VALUE"]}
        self.blocks.extend([key, value])
        self.page_children.extend([key_id, value_id])

    def response(self):
        page = {"BlockType": "PAGE", "Geometry": self.geometry((0, 0, self.w, self.h)),
                "Id": str(uuid.uuid5(ID_NAMESPACE, f"{self.doc}/page")),
                "Relationships": [{"Type": "CHILD", "Ids": self.page_children}]}
        blocks = [page] + [{k: v for k, v in b.items() if k != "_box"} for b in self.blocks]
        return {"DocumentMetadata": {"Pages": 1}, "Blocks": blocks,
                "AnalyzeDocumentModelVersion": "1.0"}


def union(boxes):
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))


def draw_words(draw, blocks, x, y, text, fnt, confidences, text_type="PRINTED"):
    """Draws `text` at (x, y) and returns one WORD block per word, boxed where it landed."""
    draw.text((x, y), text, font=fnt, fill=20)
    words, offset = [], 0
    for word, conf in zip(text.split(" "), confidences, strict=True):
        start = x + fnt.getlength(text[:offset])
        box = draw.textbbox((start, y), word, font=fnt)
        block = blocks.word(word, box, conf, text_type)
        block["_box"] = box
        words.append(block)
        offset += len(word) + 1
    return words


def claim_form():
    w, h = 850, 720
    img = Image.new("L", (w, h), 255)
    d = ImageDraw.Draw(img)
    blocks = Blocks("claim-form", w, h)
    bold, regular = font("DejaVuSans-Bold.ttf", 22), font("DejaVuSans.ttf", 22)

    d.rectangle((40, 40, w - 40, 150), fill=235)
    blocks.line(draw_words(d, blocks, 60, 58, "NORTHWIND MUTUAL", font("DejaVuSans-Bold.ttf", 34),
                           [99.61, 99.52]))
    blocks.line(draw_words(d, blocks, 60, 108, "Property damage claim form",
                           font("DejaVuSans.ttf", 20), [99.7, 99.68, 99.55, 99.71]))

    # (key, value, key word confidences, value word confidences, pair confidence)
    fields = [
        ("Policy number:", "NM-2207-4418", [99.43, 99.2], [98.87], 95.82),
        ("Claimant name:", "Jordan Ellis", [99.5, 99.31], [99.62, 99.58], 93.47),
        ("Date of loss:", "2026-10-03", [99.6, 99.71, 99.4], [98.95], 91.76),
        ("Location:", "14 Harbor Lane, Portsmouth", [99.38], [99.1, 99.52, 99.47, 98.9], 88.93),
        ("Claim amount:", None, [99.57, 99.35], None, 38.91),
        ("Phone:", "555-0142", [99.66], [99.02], 94.18),
    ]
    y = 200
    for key, value, key_conf, value_conf, pair_conf in fields:
        key_words = draw_words(d, blocks, 60, y, key, bold, key_conf)
        blocks.line(key_words)
        d.line((290, y + 30, w - 60, y + 30), fill=150, width=1)
        if value is not None:
            value_words = draw_words(d, blocks, 300, y, value, regular, value_conf)
        else:
            value_words = [scrawl(img, blocks, 300, y - 8)]
        blocks.line(value_words)
        blocks.pair(key_words, value_words, pair_conf)
        y += 64

    d.line((60, y + 20, w - 60, y + 20), fill=120, width=2)
    blocks.line(draw_words(d, blocks, 60, y + 40, "Sign and return within 30 days.",
                           font("DejaVuSans-Oblique.ttf", 18),
                           [99.4, 99.61, 99.58, 99.32, 99.47, 99.5]))
    return img, blocks.response()


def scrawl(img, blocks, x, y):
    """A handwritten, smudged "$1,840": what makes the model unsure of this pair."""
    layer = Image.new("L", (260, 70), 0)
    ld = ImageDraw.Draw(layer)
    ld.text((10, 12), "$1,840", font=font("DejaVuSerif-Italic.ttf", 30), fill=255)
    ld.line((18, 52, 150, 30), fill=160, width=3)  # a stray stroke across the figures
    layer = layer.rotate(5, resample=Image.BICUBIC, center=(10, 40))
    layer = layer.filter(ImageFilter.GaussianBlur(1.8))
    ink = Image.new("L", layer.size, 40)
    img.paste(ink, (x, y), layer)
    lx0, ly0, lx1, ly1 = layer.point(lambda v: 255 if v > 60 else 0).getbbox()
    box = (x + lx0, y + ly0, x + lx1, y + ly1)
    block = blocks.word("$1,840", box, 54.62, "HANDWRITING")
    block["_box"] = box
    return block


def beach():
    w, h = 640, 400
    img = Image.new("RGB", (w, h))
    d = ImageDraw.Draw(img)
    for y in range(0, 220):  # sky, lighter towards the sea
        t = y / 220
        d.line((0, y, w, y), fill=(int(90 + 100 * t), int(160 + 60 * t), int(230 + 20 * t)))
    d.ellipse((500, 40, 570, 110), fill=(255, 226, 110))
    d.rectangle((0, 220, w, 290), fill=(38, 118, 176))
    for x in range(0, w, 48):
        d.arc((x, 236, x + 40, 256), 200, 340, fill=(210, 235, 250), width=2)
        d.arc((x + 20, 262, x + 60, 282), 200, 340, fill=(210, 235, 250), width=2)
    d.rectangle((0, 290, w, h), fill=(236, 212, 160))
    # umbrella and towel
    d.line((150, 250, 170, 360), fill=(90, 70, 50), width=5)
    d.pieslice((70, 215, 240, 305), 180, 360, fill=(220, 60, 60))
    d.pieslice((110, 215, 200, 305), 180, 360, fill=(250, 250, 250))
    d.rectangle((200, 340, 300, 372), fill=(60, 150, 120))
    # a swimmer: head, arms, body, swim shorts, legs
    skin, shorts = (224, 172, 130), (30, 60, 160)
    d.ellipse((402, 218, 438, 254), fill=skin)
    d.line((395, 268, 372, 312), fill=skin, width=9)
    d.line((445, 268, 468, 312), fill=skin, width=9)
    d.rounded_rectangle((398, 254, 442, 318), radius=10, fill=skin)
    d.rectangle((398, 312, 442, 336), fill=shorts)
    d.line((408, 336, 404, 385), fill=skin, width=10)
    d.line((432, 336, 436, 385), fill=skin, width=10)
    img = img.filter(ImageFilter.SMOOTH)
    labels = {
        "ModerationLabels": [
            {"Confidence": 74.12, "Name": "Swimwear or Underwear", "ParentName": "",
             "TaxonomyLevel": 1},
            {"Confidence": 71.86, "Name": "Male Swimwear or Underwear",
             "ParentName": "Swimwear or Underwear", "TaxonomyLevel": 2},
        ],
        "ModerationModelVersion": "7.0",
    }
    return img, labels


def lighthouse():
    w, h = 640, 400
    img = Image.new("RGB", (w, h), (150, 200, 235))
    d = ImageDraw.Draw(img)
    d.ellipse((60, 50, 190, 90), fill=(245, 245, 250))
    d.ellipse((120, 35, 240, 85), fill=(245, 245, 250))
    d.rectangle((0, 260, w, h), fill=(40, 100, 150))
    d.polygon([(250, 400), (380, 250), (520, 235), (640, 300), (640, 400)], fill=(80, 130, 70))
    d.polygon([(430, 250), (445, 110), (485, 110), (500, 245)], fill=(245, 245, 240))
    for top in (140, 195):
        d.polygon([(441, top), (489, top), (492, top + 22), (438, top + 22)], fill=(200, 40, 40))
    d.rectangle((440, 88, 490, 110), fill=(60, 60, 70))
    d.polygon([(436, 88), (494, 88), (465, 66)], fill=(200, 40, 40))
    d.rectangle((452, 92, 478, 106), fill=(255, 230, 120))
    return img, {"ModerationLabels": [], "ModerationModelVersion": "7.0"}


def save(img, name, **kwargs):
    path = OUT / name
    img.save(path, **kwargs)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def record(name, service, digest, response):
    doc = {"note": NOTE, "service": service, "match": {"sha256": digest}, "response": response}
    (OUT / "recorded" / name).write_text(json.dumps(doc, indent=1) + "\n")


def main():
    (OUT / "recorded").mkdir(parents=True, exist_ok=True)
    form, analysis = claim_form()
    record("claim-form.textract.json", "textract",
           save(form, "claim-form.png", optimize=True), analysis)
    photo, labels = beach()
    record("beach.rekognition.json", "rekognition",
           save(photo, "beach.jpg", quality=82, optimize=True), labels)
    photo, labels = lighthouse()
    record("lighthouse.rekognition.json", "rekognition",
           save(photo, "lighthouse.png", optimize=True), labels)
    for p in sorted(OUT.rglob("*")):
        if p.is_file():
            print(f"{p.relative_to(OUT.parent.parent.parent.parent)}  {p.stat().st_size} bytes")


if __name__ == "__main__":
    main()
