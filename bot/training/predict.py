"""``python -m bot.training.predict``: intent predictions of one or more models (run in a subprocess).

    python -m bot.training.predict --input texts.json --output predictions.json --model A.tar.gz --model B.tar.gz

``texts.json`` is ``{"texts": [...]}``; the output maps each model path to one prediction per
text: ``{"intent": ..., "confidence": ..., "full_intent": "faq/<topic>" | null}``. Loading a
model pulls in TensorFlow, so the back-office never does this in its own process.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any


def _prediction(parse: dict[str, Any]) -> dict[str, Any]:
    intent = parse.get("intent") or {}
    name = intent.get("name") or ""
    full = None
    selector = (parse.get("response_selector") or {}).get(name) or {}
    key = (selector.get("response") or {}).get("intent_response_key")
    if key:
        full = str(key)
    return {"intent": name, "confidence": intent.get("confidence"), "full_intent": full}


async def _predict(model: str, texts: list[str]) -> list[dict[str, Any]]:
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    return [_prediction(await agent.parse_message(text)) for text in texts]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.training.predict")
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--model", action="append", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:  # Rasa's structured log would otherwise print every parsed text at debug level
        from rasa.utils.log_utils import configure_structlog

        configure_structlog(logging.WARNING)
    except ImportError:
        pass
    texts = [str(t) for t in json.loads(args.input.read_text(encoding="utf-8"))["texts"]]
    result = {model: asyncio.run(_predict(model, texts)) for model in args.model}
    args.output.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
