"""The optional narrative per area: the model explains the area's measured facts, and the audit checks it.

It goes through the OpenAI-compatible backend (a vLLM or SGLang server, Ollama), with at most
``concurrency`` requests at once across every worker (a ``distributed.Semaphore``). It never holds
up or changes the measurements: an area's facts are written first, and a narrative that fails is
recorded as failed, with its error, beside them.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

NARRATIVES = "narratives"
QUESTION = "请概述该区域本期土地利用变化情况，并指出需要实地核查的地方。"


@dataclass(frozen=True)
class NarrativeConfig:
    url: str  # e.g. http://gpu-server:8000/v1
    model: str
    api_key: str | None = None
    question: str = QUESTION
    max_new_tokens: int = 256
    concurrency: int = 4

    def __post_init__(self) -> None:
        from engine.model.backends import OpenAIBackend

        if self.concurrency < 1:
            raise ValueError("--narrate-concurrency must be at least 1")
        OpenAIBackend(self.url, self.model)  # a URL that cannot be one is refused before the sweep starts


def narrative_path(out_dir: Path, stem: str) -> Path:
    return out_dir / NARRATIVES / f"{stem}.json"


def narrate(config: NarrativeConfig, facts, out_dir: Path, stem: str, semaphore=None) -> dict[str, object]:
    """Ask the model about ``facts`` (a ``Facts``), audit its answer, write ``narratives/<stem>.json``."""
    from engine.analysis.areas import AreaUnit
    from engine.answer.audit import audit
    from engine.cachefs import write_atomic
    from engine.errors import EngineError
    from engine.model.backends import OpenAIBackend
    from engine.model.config import GenerationConfig
    from engine.prompt.builder import approx_tokens, build_prompt

    record: dict[str, object] = {"question": config.question, "model": config.model}
    try:
        prompt = build_prompt(config.question, facts, [], [], "zh", AreaUnit.MU, approx_tokens)
        backend = OpenAIBackend(config.url, config.model, config.api_key)
        generation = GenerationConfig(max_new_tokens=config.max_new_tokens, temperature=0.0)
        if semaphore is not None:
            with semaphore:
                answer = "".join(backend.stream(prompt, generation, threading.Event()))
        else:
            answer = "".join(backend.stream(prompt, generation, threading.Event()))
        record.update(answer=answer, audit=audit(answer, facts.to_dict(), config.question).to_dict())
    except (EngineError, OSError, ValueError) as exc:
        record["error"] = str(exc) or type(exc).__name__
    path = narrative_path(out_dir, stem)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8"))
    return record


def narrative_verdict(out_dir: Path, stem: str) -> str:
    """The narrative's audit verdict, ``failed`` when it could not be made, empty when none was asked for."""
    try:
        record = json.loads(narrative_path(out_dir, stem).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    return "failed" if "error" in record else str(record.get("audit", {}).get("verdict", ""))
