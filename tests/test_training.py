"""The two training stages and the merge, on the CPU with the tiny Qwen2.5-VL, through the real commands.

A toy task whose answer is in the image: "是否有水体？" over blue (water) or green (vegetation)
images. Stage 1 must learn it by SFT; stage 2 must learn it by GRPO from a briefly warmed model;
the seed's GRPO bugs (constant rewards, images never reaching the model, stage 2 ignoring stage 1)
must stay fixed; the merge must equal base + adapters.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from training import grpo, merge, modeling, sft
from training.rewards import accuracy_reward
from training.toy import QUESTION, write_toy_dataset

PIXELS = ["--min_pixels", "3136", "--max_pixels", "3136"]  # 56 x 56 images: 4 visual tokens
QUIET = ["--report_to", "none", "--seed", "0", *PIXELS]


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("toy")
    return {"folder": folder, "train": write_toy_dataset(folder, 64, seed=0, name="train"),
            "held": write_toy_dataset(folder, 32, seed=1, name="held")}


def _greedy_accuracy(adapter: Path, held: Path) -> float:
    """Greedy answers of base + the adapter chain on held-out rows, scored by the accuracy reward."""
    from training.evaluation.answerers import LocalAnswerer

    answerer = LocalAnswerer(str(adapter), max_new_tokens=4, pixels=3136)
    rows = json.loads(held.read_text(encoding="utf-8"))
    answers = [answerer.answer({"question": QUESTION}, [held.parent / row["image"]]) for row in rows]
    scores = accuracy_reward(answers, question=[QUESTION] * len(rows),
                             answer=[r["conversations"][1]["value"] for r in rows])
    return sum(scores) / len(scores)


@pytest.fixture(scope="module")
def warmed(toy: dict[str, Path], tiny_model_dir: Path) -> Path:
    """Stage 1, briefly: the answer's form is learnt, not yet the image."""
    out = toy["folder"] / "stage1-warm"
    assert sft.main(["--model_id", str(tiny_model_dir), "--data_path", str(toy["train"]), "--output_dir", str(out),
                     "--max_steps", "20", "--per_device_train_batch_size", "8", "--learning_rate", "1e-2",
                     "--lora_parts", "language", "--lora_r", "16", "--lora_alpha", "32", "--logging_steps", "5",
                     "--save_strategy", "no", *QUIET]) == 0
    return out


@pytest.fixture(scope="module")
def aligned(toy: dict[str, Path], warmed: Path) -> Path:
    """Stage 2 from the warmed stage 1: GRPO with the accuracy reward."""
    out = toy["folder"] / "stage2"
    assert grpo.main(["--model_id", str(warmed), "--data_path", str(toy["train"]), "--output_dir", str(out),
                      "--max_steps", "120", "--per_device_train_batch_size", "8", "--num_generations", "8",
                      "--max_completion_length", "4", "--learning_rate", "2e-3", "--beta", "0.0",
                      "--temperature", "1.0", "--lora_parts", "language,vision", "--lora_r", "16",
                      "--lora_alpha", "32", "--reward_funcs", "training.rewards:accuracy_reward",
                      "--logging_steps", "10", "--save_steps", "60", *QUIET]) == 0
    return out


def test_lora_targets_are_anchored_to_each_part(tiny_model_dir: Path) -> None:
    model, _ = modeling.load_model(modeling.resolve(str(tiny_model_dir)))
    found = {part: modeling.find_modules(model, modeling.target_regex((part,))) for part in modeling.Part}
    assert found[modeling.Part.VISION] and all(".visual.blocks." in n for n in found[modeling.Part.VISION])
    assert {n.rsplit(".", 2)[-2] + "." + n.rsplit(".", 1)[-1] for n in found[modeling.Part.VISION]} == {
        "attn.qkv", "attn.proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"}
    assert sorted(n.rsplit(".", 1)[-1] for n in found[modeling.Part.MERGER]) == ["0", "2"]
    assert all(".language_model.layers." in n for n in found[modeling.Part.LANGUAGE])
    assert {n.rsplit(".", 1)[-1] for n in found[modeling.Part.LANGUAGE]} == {
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    everything = [n for names in found.values() for n in names]
    assert len(everything) == len(set(everything))  # vision and language MLPs share names, never matches


def test_sft_loss_is_on_the_answers_only(toy: dict[str, Path], tiny_model_dir: Path, tmp_path: Path) -> None:
    from trl import SFTConfig

    from training.arguments import DataArguments, ModelArguments, RunArguments

    two_turns = tmp_path / "two.json"
    rows = json.loads(toy["train"].read_text(encoding="utf-8"))[:2]
    rows[0]["conversations"] += [{"from": "human", "value": "Sure?"}, {"from": "gpt", "value": "yes sure"}]
    for row in rows:
        row["image"] = str(toy["folder"] / row["image"])
    two_turns.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    trainer, _, processor = sft.build(ModelArguments(model_id=str(tiny_model_dir), lora_r=8),
                                      DataArguments(data_path=str(two_turns), min_pixels=3136, max_pixels=3136),
                                      RunArguments(), SFTConfig(output_dir=str(tmp_path / "out"), use_cpu=True,
                                                                bf16=False, report_to=[]))
    batch = trainer.data_collator([trainer.train_dataset[0]])
    labels, ids = batch["labels"][0], batch["input_ids"][0]
    learnt = processor.tokenizer.decode(ids[labels != -100])
    first = rows[0]["conversations"][1]["value"]
    assert learnt == f"{first}<|im_end|>\nyes sure<|im_end|>\n", learnt  # both answers; no question, no image
    image_pad = processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert (ids == image_pad).any() and (labels[ids == image_pad] == -100).all()


def test_sft_learns_the_toy_task(toy: dict[str, Path], tiny_model_dir: Path) -> None:
    out = toy["folder"] / "stage1-full"
    assert sft.main(["--model_id", str(tiny_model_dir), "--data_path", str(toy["train"]), "--output_dir", str(out),
                     "--max_steps", "60", "--per_device_train_batch_size", "8", "--learning_rate", "1e-2",
                     "--lora_r", "16", "--lora_alpha", "32", "--logging_steps", "1", "--save_steps", "30",
                     *QUIET]) == 0
    state = json.loads((out / "checkpoint-60" / "trainer_state.json").read_text())
    losses = [h["loss"] for h in state["log_history"] if "loss" in h]
    print(f"SFT loss: first step {losses[0]:.3f}, last 5 steps {np.mean(losses[-5:]):.3f}")
    assert np.mean(losses[-5:]) <= 0.5 * losses[0]
    # checkpoints hold the adapter only, never the whole model
    assert (out / "checkpoint-30" / "adapter_model.safetensors").is_file()
    assert not list((out / "checkpoint-30").glob("model*.safetensors"))
    assert (out / "curves.png").is_file() and (out / "training_record.json").is_file()


def test_grpo_learns_what_the_image_shows(toy: dict[str, Path], warmed: Path, aligned: Path) -> None:
    before, after = _greedy_accuracy(warmed, toy["held"]), _greedy_accuracy(aligned, toy["held"])
    print(f"greedy accuracy on held-out prompts: after the SFT warm-up {before:.0%}, after GRPO {after:.0%}")
    assert before <= 0.6 and after >= 0.9
    state = json.loads((aligned / "checkpoint-120" / "trainer_state.json").read_text())
    assert any(h.get("reward_std", 0) > 0 for h in state["log_history"])  # rewards differ within groups


def test_grpo_gets_the_images_and_starts_from_stage_1(toy: dict[str, Path], warmed: Path,
                                                      tiny_model_dir: Path, tmp_path: Path) -> None:
    from trl import GRPOConfig

    from training.arguments import DataArguments, ModelArguments, RunArguments

    trainer, source, _ = grpo.build(
        ModelArguments(model_id=str(warmed), lora_r=8, train_merger=True),
        DataArguments(data_path=str(toy["train"]), min_pixels=3136, max_pixels=3136),
        RunArguments(reward_funcs="training.rewards:accuracy_reward"),
        GRPOConfig(output_dir=str(tmp_path / "out"), use_cpu=True, bf16=False, report_to=[], max_steps=1,
                   per_device_train_batch_size=4, num_generations=4, max_completion_length=4))
    assert source.adapter == warmed
    # stage 1's adapter is in the weights GRPO starts from
    base, _ = modeling.load_model(modeling.resolve(str(tiny_model_dir)))
    stage1, _, _ = merge.merge(merge.adapter_chain(warmed), None, "float32")
    name = "model.language_model.layers.0.self_attn.q_proj"
    policy = dict(trainer.model.named_modules())
    start = next(m for n, m in policy.items() if n.endswith(name + ".base_layer")).weight
    assert torch.allclose(start, stage1.get_submodule(name).weight, atol=1e-6)
    assert not torch.allclose(start, base.get_submodule(name).weight, atol=1e-4)
    # the merger trains (modules_to_save), and pixel values reach the model's forward
    assert any("merger" in n and p.requires_grad for n, p in trainer.model.named_parameters())
    seen = []
    visual = next(m for n, m in policy.items() if n.endswith("visual"))
    visual.register_forward_pre_hook(lambda module, args, kwargs: seen.append(args[0].shape if args else
                                                                              kwargs["hidden_states"].shape),
                                     with_kwargs=True)
    trainer.train()
    assert seen and all(s[0] > 0 for s in seen)


def test_merge_equals_base_plus_adapters(toy: dict[str, Path], warmed: Path, aligned: Path) -> None:
    from peft import PeftModel
    from transformers import AutoModelForImageTextToText, AutoProcessor

    out = toy["folder"] / "merged"
    assert merge.main(["--adapter", str(aligned), "--output_dir", str(out), "--dtype", "float32"]) == 0
    assert (out / "model.safetensors").is_file() and (out / "processor_config.json").is_file()
    card = (out / "README.md").read_text(encoding="utf-8")
    assert str(warmed) in card and str(aligned) in card and "float32" in card
    merged = AutoModelForImageTextToText.from_pretrained(out, dtype=torch.float32).eval()
    reference, _ = modeling.load_model(modeling.resolve(str(warmed)), dtype="float32")  # base + stage 1
    reference = PeftModel.from_pretrained(reference, aligned).eval()  # + stage 2, not merged
    processor = AutoProcessor.from_pretrained(out)
    modeling.set_image_pixels(processor, 3136, 3136)
    text = processor.apply_chat_template([{"role": "user", "content": [{"type": "image"},
                                                                       {"type": "text", "text": QUESTION}]}],
                                         add_generation_prompt=True, tokenize=False)
    inputs = processor(text=[text], images=[Image.open(toy["folder"] / "held0.png")], return_tensors="pt")
    with torch.no_grad():
        a, b = merged(**inputs).logits, reference(**inputs).logits
    assert torch.allclose(a, b, atol=1e-4), (a - b).abs().max()


def test_commands_explain_themselves_and_refuse_bad_data_before_loading(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit):
        sft.main(["--help"])
    help_text = capsys.readouterr().out
    for flag in ("--model_id", "--data_path", "--image_folder", "--output_dir", "--lora_parts", "--skip_bad_rows",
                 "--max_steps", "--per_device_train_batch_size"):
        assert flag in help_text
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"id": "r1", "image": "none.png", "conversations": []}]), encoding="utf-8")
    code = grpo.main(["--model_id", str(tmp_path / "no-model"), "--data_path", str(bad),
                      "--output_dir", str(tmp_path / "o"), "--report_to", "none"])
    assert code == 2 and "bad.json:row 1 (r1): missing image" in capsys.readouterr().err


def test_a_killed_run_resumes_from_its_newest_checkpoint(toy: dict[str, Path], tiny_model_dir: Path) -> None:
    from training import run

    out = toy["folder"] / "resumable"
    args = ["--model_id", str(tiny_model_dir), "--data_path", str(toy["train"]), "--output_dir", str(out),
            "--max_steps", "4", "--per_device_train_batch_size", "4", "--lora_r", "4", "--logging_steps", "1",
            "--save_steps", "2", *QUIET]
    assert sft.main([*args, "--learning_rate", "1e-2"]) == 0
    first = json.loads((out / "checkpoint-4" / "trainer_state.json").read_text())["log_history"]
    for path in (out / "checkpoint-4", out / "adapter_model.safetensors"):  # killed after the step-2 checkpoint
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    (out / "checkpoint-10").mkdir()  # not a real checkpoint, but numbering must sort as numbers: 10 > 2
    assert run.newest_checkpoint(str(out)) == str(out / "checkpoint-10")
    (out / "checkpoint-10").rmdir()
    # resumed with another learning rate: steps 1-2 come back from the checkpoint as they were logged
    assert sft.main([*args, "--learning_rate", "5e-2", "--resume", "true"]) == 0
    second = json.loads((out / "checkpoint-4" / "trainer_state.json").read_text())["log_history"]
    losses = {h["step"]: h["loss"] for h in second if "loss" in h}
    assert sorted(losses) == [1, 2, 3, 4]
    logged = {h["step"]: h["loss"] for h in first if "loss" in h}
    assert losses == logged  # it continued exactly as the uninterrupted run (optimizer and schedule restored)
    fresh = toy["folder"] / "fresh"  # whereas starting over with that learning rate gives another step 2
    assert sft.main([*args[:4], "--output_dir", str(fresh), *args[6:], "--learning_rate", "5e-2"]) == 0
    restarted = json.loads((fresh / "checkpoint-4" / "trainer_state.json").read_text())["log_history"]
    assert next(h["loss"] for h in restarted if h.get("step") == 2) != losses[2]


def _tiny_family(family: str):
    """A tiny model of ``family`` on the meta device (structure only): its Linear layers' names."""
    import torch
    from transformers import (
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2VLConfig,
        Qwen2VLForConditionalGeneration,
    )

    text = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2,
            "num_key_value_heads": 1, "vocab_size": 1000, "rope_scaling": {"type": "mrope", "mrope_section": [2, 3, 3]}}
    if family == "qwen2_vl":
        vision = {"depth": 2, "embed_dim": 32, "hidden_size": 64, "num_heads": 2, "mlp_ratio": 2}
        config, cls = Qwen2VLConfig(vision_config=vision, text_config=text), Qwen2VLForConditionalGeneration
    elif family == "qwen3_vl":  # linear_fc1/fc2 everywhere, and deepstack mergers beside the merger
        from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration

        vision = {"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "out_hidden_size": 64,
                  "deepstack_visual_indexes": [1], "num_position_embeddings": 64}
        text = {**text, "head_dim": 32, "rope_scaling": {"rope_type": "default", "mrope_section": [2, 3, 3]}}
        config, cls = Qwen3VLConfig(vision_config=vision, text_config=text), Qwen3VLForConditionalGeneration
    else:
        vision = {"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "out_hidden_size": 64,
                  "fullatt_block_indexes": [1]}
        config, cls = Qwen2_5_VLConfig(vision_config=vision, text_config=text), Qwen2_5_VLForConditionalGeneration
    with torch.device("meta"):
        model = cls(config)
    return [n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)]


@pytest.mark.parametrize("family", ["qwen2_vl", "qwen2_5_vl", "qwen3_vl"])
def test_lora_covers_every_part_the_recipe_names_in_each_family(family: str) -> None:
    """Every Linear of the vision blocks (attention and MLP: fc1/fc2 on Qwen2-VL), the merger and the language
    layers is a target of its part's pattern, and of no other."""
    import re

    from training.modeling import PART_PATTERNS, Part

    names = _tiny_family(family)
    expected = {
        Part.VISION: [n for n in names if ".visual.blocks." in n],
        Part.MERGER: [n for n in names if ".visual.merger." in n or ".visual.deepstack_merger_list." in n],
        Part.LANGUAGE: [n for n in names if ".layers." in n and ".visual." not in n],
    }
    assert any(n.endswith(("mlp.fc1", "mlp.linear_fc1", "mlp.gate_proj")) for n in expected[Part.VISION])
    assert all(expected.values())
    for part, pattern in PART_PATTERNS.items():
        matched = [n for n in names if re.fullmatch(pattern, n)]
        assert matched == expected[part], (family, part, sorted(set(expected[part]) ^ set(matched)))


def test_records_and_adapters_work_from_any_folder(warmed: Path, aligned: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Paths in training records and adapter configs are absolute, so merge and stage 2 work from anywhere."""
    from training import merge

    for stage in (warmed, aligned):
        record = json.loads((stage / "training_record.json").read_text())
        for key in ("base_model", "start_adapter", "data_path"):
            if record.get(key) and Path(record[key]).exists():
                assert Path(record[key]).is_absolute(), (stage.name, key, record[key])
        base = json.loads((stage / "adapter_config.json").read_text())["base_model_name_or_path"]
        assert Path(base).is_absolute() and Path(base).exists()
    monkeypatch.chdir(tmp_path)  # another working directory
    assert merge.adapter_chain(aligned) == [warmed, aligned]


def test_relative_paths_are_recorded_absolute_and_old_records_read_beside(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from training import merge
    from training.run import absolute

    (tmp_path / "outputs" / "stage1").mkdir(parents=True)
    (tmp_path / "outputs" / "stage2").mkdir()
    monkeypatch.chdir(tmp_path)
    assert absolute("outputs/stage1") == str(tmp_path / "outputs" / "stage1")  # as a user types it
    assert absolute("Qwen/Qwen2.5-VL-3B-Instruct") == "Qwen/Qwen2.5-VL-3B-Instruct"  # a hub id stays
    monkeypatch.chdir(tmp_path / "outputs" / "stage2")  # elsewhere: a record written before, relative
    assert merge.near("stage1", tmp_path / "outputs" / "stage2") == tmp_path / "outputs" / "stage1"


def test_the_sft_recipe_fits_its_largest_images() -> None:
    """The recipe's max_length holds two images at its max_pixels (one visual token per 28x28) and some text."""
    import yaml

    recipe = yaml.safe_load((Path(__file__).resolve().parents[1] / "training" / "recipes" /
                             "sft_lora_vision.yaml").read_text())
    visual_tokens = recipe["max_pixels"] // (28 * 28)
    assert recipe["max_length"] >= 2 * visual_tokens + 256


def test_grpo_curves_show_each_reward_and_the_zero_std_fraction(aligned: Path) -> None:
    from training.run import curve_keys

    history = json.loads((aligned / "log_history.json").read_text())
    assert curve_keys(history) == ["loss", "reward", "rewards/accuracy_reward/mean", "frac_reward_zero_std"]
    record = json.loads((aligned / "training_record.json").read_text())
    assert "frac_reward_zero_std" in record["last_logged"] and "rewards/accuracy_reward/mean" in record["last_logged"]


def test_graded_credit_keeps_grpo_groups_apart_on_the_toy_share_task(tmp_path: Path) -> None:
    """The same warm model, seed and data: rewarded by exact match, most groups score all-equal (no
    advantage, nothing learnt); rewarded with graded credit for numbers, few do (tests/bench_grpo_signal.py)."""
    from bench_grpo_signal import run

    results = run(tmp_path, steps=9)
    exact, graded = results["exact match"]["all"], results["graded (accuracy_reward)"]["all"]
    print(f"zero-std fraction: exact {exact:.3f}, graded {graded:.3f}")
    assert exact >= 0.3 and graded <= 0.5 * exact
