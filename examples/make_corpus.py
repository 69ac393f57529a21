"""Writes examples/data/corpus.jsonl: a few thousand short help-center style
documents written for this project from templates (deterministic: the same
file every run). Usage: python examples/make_corpus.py"""
from __future__ import annotations

import json
import pathlib
import random

TOPICS = {
    "billing": {
        "things": ["invoice", "refund", "credit card", "subscription", "receipt", "payment method",
                   "annual plan", "monthly plan", "discount code", "tax form"],
        "actions": ["update", "cancel", "download", "dispute", "change", "add", "remove", "renew"],
        "places": ["Settings then Billing", "the Billing page", "your account menu",
                   "the Payments tab", "the invoice email"],
    },
    "shipping": {
        "things": ["parcel", "tracking number", "delivery address", "return label", "courier",
                   "package", "customs form", "express shipping"],
        "actions": ["track", "change", "print", "reschedule", "request", "confirm"],
        "places": ["the Orders page", "the tracking link", "the courier's site",
                   "your order confirmation"],
    },
    "accounts": {
        "things": ["password", "email address", "username", "profile photo", "two-factor code",
                   "recovery key", "login session", "team member"],
        "actions": ["reset", "verify", "change", "invite", "remove", "recover", "enable"],
        "places": ["the Security page", "Settings then Account", "the login screen",
                   "the team admin panel"],
    },
    "devices": {
        "things": ["firmware", "battery", "charger", "bluetooth pairing", "screen", "sensor",
                   "speaker", "wifi connection"],
        "actions": ["update", "calibrate", "reset", "pair", "replace", "clean", "restart"],
        "places": ["the companion app", "the device menu", "the quick start guide",
                   "the support site"],
    },
    "kitchen": {
        "things": ["sourdough starter", "cast iron pan", "espresso grind", "knife edge",
                   "stock pot", "spice blend", "pasta dough", "oven thermometer"],
        "actions": ["season", "sharpen", "store", "measure", "knead", "calibrate", "clean"],
        "places": ["the recipe card", "the care guide", "the video lesson", "the pantry notes"],
    },
    "garden": {
        "things": ["tomato seedlings", "compost heap", "rose bush", "lawn", "drip irrigation",
                   "raised bed", "fruit tree", "herb planter"],
        "actions": ["prune", "water", "mulch", "plant", "feed", "protect", "harvest"],
        "places": ["the planting calendar", "the soil guide", "the seasonal checklist"],
    },
}

OPENERS = [
    "How do I {action} my {thing}?",
    "To {action} the {thing}, open {place}.",
    "You can {action} a {thing} from {place}.",
    "If the {thing} looks wrong, {action} it in {place}.",
    "Why can't I {action} my {thing}?",
    "Steps to {action} your {thing} quickly.",
]
DETAILS = [
    "Changes take effect within {n} minutes.",
    "This works on the web and in the mobile app.",
    "Administrators can do this for the whole team.",
    "Keep a copy of the {thing} for your records.",
    "If nothing happens, wait {n} minutes and try again.",
    "Contact support with your {thing} if the problem continues.",
    "Most people finish this in under {n} minutes.",
    "Note that a {thing2} is handled separately.",
    "Café customers in Zürich and São Paulo see the same steps.",
]


def make(n_docs: int = 3000, seed: int = 7) -> list[dict]:
    rnd = random.Random(seed)
    topics = sorted(TOPICS)
    docs = []
    for i in range(n_docs):
        topic = topics[i % len(topics)] if rnd.random() < 0.7 else rnd.choice(topics)
        t = TOPICS[topic]
        thing, thing2 = rnd.sample(t["things"], 2)
        fill = {"thing": thing, "thing2": thing2, "action": rnd.choice(t["actions"]),
                "place": rnd.choice(t["places"]), "n": rnd.choice([2, 5, 10, 15, 30])}
        title = rnd.choice(OPENERS).format(**fill)
        body = " ".join([title] + [d.format(**fill) for d in rnd.sample(DETAILS, rnd.randint(1, 3))])
        docs.append({"doc_id": f"doc-{i:05d}", "topic": topic, "title": title, "body": body,
                     "views": rnd.randint(0, 5000)})
    return docs


if __name__ == "__main__":
    out = pathlib.Path(__file__).parent / "data" / "corpus.jsonl"
    with out.open("w") as f:
        for d in make():
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    print(f"wrote {out}")
