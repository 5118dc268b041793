"""RSVQA-LR/HR question sets in their published layout, as evaluation rows.

A split is three files side by side: ``<split>_questions.json`` (``questions``: ``id``,
``img_id``, ``type``, ``question``, ``answers_ids``, ``active``), ``<split>_answers.json``
(``answers``: ``id``, ``answer``) and ``<split>_images.json``; images are ``<img_id>.tif`` in the
image folder (``Images_LR``/``Images`` beside them by default). Inactive questions are skipped.
"""

from __future__ import annotations

import json
from pathlib import Path

from training.errors import DataFileError


def is_rsvqa(path: Path) -> bool:
    return path.is_file() and path.name.endswith("_questions.json")


def read_rsvqa(questions_file: Path, image_folder: Path | None = None) -> list[dict]:
    """Rows ``{"id", "image", "question", "answer", "question_type", "language"}`` of one split."""
    answers_file = questions_file.with_name(questions_file.name.replace("_questions.json", "_answers.json"))
    try:
        questions = json.loads(questions_file.read_text(encoding="utf-8"))["questions"]
        answers = {a["id"]: a["answer"] for a in json.loads(answers_file.read_text(encoding="utf-8"))["answers"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataFileError(f"{questions_file} / {answers_file.name}: not an RSVQA split ({exc})") from None
    if image_folder is None:
        image_folder = next((questions_file.parent / d for d in ("Images_LR", "Images_HR", "Images")
                             if (questions_file.parent / d).is_dir()), questions_file.parent)
    rows = []
    for q in questions:
        if not q.get("active", True) or not q.get("answers_ids"):
            continue
        answer = answers.get(q["answers_ids"][0])
        if answer is None:
            continue
        rows.append({"id": str(q["id"]), "image": str(Path(image_folder).resolve() / f"{q['img_id']}.tif"),
                     "question": q["question"], "answer": str(answer), "question_type": q.get("type", ""),
                     "language": "en"})
    return rows
