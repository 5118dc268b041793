"""The training commands' own options (TRL's ``SFTConfig``/``GRPOConfig`` bring the rest, unchanged).

The seed's flag names are kept (``--model_id``, ``--data_path``, ``--image_folder``,
``--output_dir``), so its users' commands carry over. Each dataclass checks
itself in ``__post_init__`` and says what to change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from training.modeling import parse_parts

PATCH = 28  # Qwen2.5-VL: one visual token per 28x28 image pixels


@dataclass
class ModelArguments:
    model_id: str = field(default="Qwen/Qwen2.5-VL-3B-Instruct", metadata={
        "help": "base model: a local folder or a hub id already in the local cache (nothing is downloaded); "
                "or a previous stage's output folder (an adapter: its base comes from adapter_config.json)"})
    adapter: str | None = field(default=None, metadata={
        "help": "a LoRA adapter to start from (stage 1's output for stage 2); merged into the weights first"})
    lora_parts: str = field(default="language,vision", metadata={
        "help": "where LoRA goes, comma-separated: language (q/k/v/o/gate/up/down_proj of the decoder), "
                "vision (attn.qkv, attn.proj, mlp.*_proj of the vision blocks), merger (mlp.0, mlp.2)"})
    lora_r: int = field(default=32, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=16, metadata={"help": "LoRA alpha (scaling = alpha / r)"})
    lora_dropout: float = field(default=0.05, metadata={"help": "LoRA dropout"})
    train_merger: bool = field(default=False, metadata={
        "help": "train the vision-language merger fully (saved with the adapter as modules_to_save)"})
    load_in_4bit: bool = field(default=False, metadata={"help": "load the base in 4-bit NF4 (QLoRA; bitsandbytes)"})
    dtype: str = field(default="auto", metadata={
        "help": "weights dtype: auto (bfloat16 on a GPU that has it, else float32), bfloat16, float16, float32"})

    def __post_init__(self) -> None:
        self.parts = parse_parts(self.lora_parts)
        if self.lora_r < 1 or self.lora_alpha < 1:
            raise ValueError("--lora_r and --lora_alpha must be at least 1")
        if not 0 <= self.lora_dropout < 1:
            raise ValueError("--lora_dropout must be in [0, 1)")
        if self.dtype not in ("auto", "bfloat16", "float16", "float32"):
            raise ValueError(f"--dtype {self.dtype}: choose auto, bfloat16, float16 or float32")


@dataclass
class DataArguments:
    data_path: str | None = field(default=None, metadata={
        "help": "training rows: LLaVA-style JSON or JSONL (id, image, conversations), or question/answer rows"})
    image_folder: str | None = field(default=None, metadata={
        "help": "folder the rows' image paths are relative to (default: the data file's folder)"})
    eval_data_path: str | None = field(default=None, metadata={"help": "evaluation rows, same format"})
    skip_bad_rows: bool = field(default=False, metadata={
        "help": "leave bad rows out (and report how many) instead of stopping at them"})
    min_pixels: int = field(default=256 * PATCH * PATCH, metadata={"help": "fewest image pixels (256·28²)"})
    max_pixels: int = field(default=1280 * PATCH * PATCH, metadata={"help": "most image pixels (1280·28²)"})
    max_question_tokens: int | None = field(default=192, metadata={
        "help": "GRPO: the question text is cut to this many tokens from the left; image tokens are never cut"})

    def __post_init__(self) -> None:
        if not self.data_path:
            raise ValueError("give the training rows with --data_path FILE.json")
        if self.min_pixels < PATCH * PATCH or self.max_pixels < self.min_pixels:
            raise ValueError(f"need {PATCH * PATCH} <= --min_pixels <= --max_pixels")


@dataclass
class RunArguments:
    resume: bool = field(default=False, metadata={
        "help": "continue from the newest checkpoint in --output_dir (a killed run loses at most save_steps)"})
    reward_funcs: str = field(default="training.rewards:accuracy_reward,training.rewards:format_reward", metadata={
        "help": "GRPO rewards, comma-separated module:function paths (TRL's signature: (completions, **columns))"})
