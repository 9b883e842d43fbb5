"""Character-level copy, reverse and addition as a registry of tasks, with a train/eval split
that cannot leak (book: the overview's "tasks" section).

Formats, with L digits per operand and leading zeros allowed:

    copy      s|s            prompt "s|",   answer s            (2L+1 characters)
    reverse   s|rev(s)       prompt "s|",   answer reversed s   (2L+1 characters)
    addition  a+b=c          prompt "a+b=", answer a+b written most significant digit
                             first, zero-padded to exactly L+1 digits (3L+3 characters)

The newline (id 13) is both end-of-sequence and padding. The language-model targets cover the
answer and one end-of-sequence newline; prompt and later padding targets are ignored.

Every problem belongs to exactly one side of a fixed pseudo-random partition of the problem
space (a hash of its digits): the training stream only draws "train" problems and the
evaluation sets only draw "eval" problems, so evaluation never overlaps training, at any
length. The authors' code evaluates at the training length on the first 100 training samples
of its first data worker; this is the deliberate fix.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch

from artrm.errors import ConfigError, check_choice
from artrm.registry import Registry

VOCAB = "0123456789|+=\n"  # the shared vocabulary; a task may append symbols of its own
STOI = {c: i for i, c in enumerate(VOCAB)}
EOS = PAD = STOI["\n"]
IGNORE = -100
SIDES = {"train": 0, "eval": 1}


class Task:
    """A character task: L random digits per operand define a problem; `build` writes its
    prompt and answer as token ids. A subclass sets the lengths and `build`; registering an
    instance (`register_task`) makes it a task everywhere (configs, CLI, notebooks)."""

    name: str = ""
    format: str = ""  # the text of one problem, e.g. "s|s"
    symbols: str = ""  # characters beyond VOCAB that the task writes (ids follow VOCAB's)

    @property
    def vocab(self) -> str:
        return VOCAB + self.symbols

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def operand_digits(self, length: int) -> int:
        """Random digits that define one problem."""
        return length

    def prompt_length(self, length: int) -> int:
        return length + 1

    def answer_length(self, length: int) -> int:
        return length

    def text_length(self, length: int) -> int:
        """Characters in prompt + answer; the model must see this many positions."""
        return self.prompt_length(length) + self.answer_length(length)

    def build(self, digits: torch.Tensor, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Prompt (N, P) and answer (N, A) of the problems with `digits` (N, K), values 0..9."""
        raise NotImplementedError


class Copy(Task):
    name, format = "copy", "s|s"

    def build(self, digits: torch.Tensor, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        return _with_bar(digits), digits


class Reverse(Task):
    name, format = "reverse", "s|rev(s)"

    def build(self, digits: torch.Tensor, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        return _with_bar(digits), digits.flip(1)


class Addition(Task):
    """a+b=c, c written most significant digit first, zero-padded to L+1 digits."""

    name, format = "addition", "a+b=c"

    def operand_digits(self, length: int) -> int:
        return 2 * length

    def prompt_length(self, length: int) -> int:
        return 2 * length + 2

    def answer_length(self, length: int) -> int:
        return length + 1

    def build(self, digits: torch.Tensor, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        n = digits.shape[0]
        a, b = digits[:, :length], digits[:, length:]
        prompt = torch.cat([a, _col(STOI["+"], n), b, _col(STOI["="], n)], dim=1)
        return prompt, _add_digits(a, b)


TASK_REGISTRY: Registry[Task] = Registry("task")


def register_task(task: Task) -> Task:
    return TASK_REGISTRY.add(task.name, task)


def unregister_task(name: str) -> None:
    TASK_REGISTRY.pop(name, None)


for _task in (Copy(), Reverse(), Addition()):
    register_task(_task)


def task_names() -> tuple[str, ...]:
    return tuple(TASK_REGISTRY)


def get_task(name: str) -> Task:
    return TASK_REGISTRY.lookup(name)


def encode(text: str, task: str | None = None) -> torch.Tensor:
    vocab = get_task(task).vocab if task else VOCAB
    return torch.tensor([vocab.index(c) for c in text], dtype=torch.long)


def decode(ids: torch.Tensor | list[int], task: str | None = None) -> str:
    vocab = get_task(task).vocab if task else VOCAB
    return "".join(vocab[int(i)] for i in ids)


def text_length(task: str, length: int) -> int:
    """Characters in prompt + answer of `task` at `length`."""
    return get_task(task).text_length(length)


def derive_seed(*parts: object) -> int:
    """A 63-bit seed derived from `parts`, so that separate streams never share a seed."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


@dataclass(frozen=True)
class Problems:
    """A batch of problems of one task and length, as token ids."""

    task: str
    length: int
    prompt: torch.Tensor  # (N, P)
    answer: torch.Tensor  # (N, A)

    def __len__(self) -> int:
        return self.prompt.shape[0]

    def text(self) -> torch.Tensor:
        return torch.cat([self.prompt, self.answer], dim=1)  # (N, P + A)

    def __getitem__(self, rows: slice | torch.Tensor) -> Problems:
        return Problems(self.task, self.length, self.prompt[rows], self.answer[rows])


def make_problems(task: str, length: int, digits: torch.Tensor) -> Problems:
    """Problems from their random digits (N, operand_digits) with values 0..9."""
    prompt, answer = get_task(task).build(digits, length)
    return Problems(task, length, prompt, answer.contiguous())


def _with_bar(digits: torch.Tensor) -> torch.Tensor:
    return torch.cat([digits, _col(STOI["|"], digits.shape[0])], dim=1)


def _col(token: int, n: int) -> torch.Tensor:
    return torch.full((n, 1), token, dtype=torch.long)


def _add_digits(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Digit-wise a + b, most significant first, L+1 digits (exact for any L)."""
    n, length = a.shape
    out = torch.empty(n, length + 1, dtype=torch.long)
    carry = torch.zeros(n, dtype=torch.long)
    for i in range(length - 1, -1, -1):
        s = a[:, i] + b[:, i] + carry
        out[:, i + 1], carry = s % 10, s // 10
    out[:, 0] = carry
    return out


def split_of(digits: torch.Tensor) -> torch.Tensor:
    """Side of the train/eval partition of each problem (0 = train, 1 = eval), shape (N,)."""
    h = torch.zeros(digits.shape[0], dtype=torch.long)
    for k in range(digits.shape[1]):  # polynomial hash modulo the prime 2^31 - 1
        h = (h * 1_000_003 + digits[:, k] + 1) % 2_147_483_647
    mixed = (h * 2_654_435_761) % 4_294_967_296  # Knuth's multiplicative mix
    return (mixed >> 31) & 1


def draw_problems(task: str, length: int, n: int, generator: torch.Generator,
                  side: str) -> Problems:
    """`n` uniform problems from one side of the partition (rejection sampling, deterministic)."""
    check_choice("side", side, tuple(SIDES))
    k, want, parts, got = get_task(task).operand_digits(length), SIDES[side], [], 0
    for _ in range(1000):
        digits = torch.randint(0, 10, (2 * (n - got) + 16, k), generator=generator)
        keep = digits[split_of(digits) == want][: n - got]
        parts.append(keep)
        got += keep.shape[0]
        if got == n:
            return make_problems(task, length, torch.cat(parts))
    raise ConfigError(f"length {length} is too short: the {side} side of {task} has no problems")


class TrainStream:
    """The seeded, infinite stream of training problems at the training length."""

    def __init__(self, task: str, length: int, batch_size: int, seed: int) -> None:
        self.task, self.length, self.batch_size = task, length, batch_size
        self.generator = torch.Generator().manual_seed(derive_seed(seed, "train", task, length))

    def next(self) -> Problems:
        return draw_problems(self.task, self.length, self.batch_size, self.generator, "train")

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.generator.set_state(state["generator"])


def eval_problems(task: str, length: int, n: int, seed: int) -> Problems:
    """The fixed evaluation set of a run: the same `n` problems at every evaluation round."""
    generator = torch.Generator().manual_seed(derive_seed(seed, "eval", task, length))
    return draw_problems(task, length, n, generator, "eval")


def lm_batch(problems: Problems, block_size: int,
             padding: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Next-token inputs and masked targets, each (N, T).

    padding="block" pads every row to `block_size` positions as the authors' code does;
    padding="trim" keeps only the positions that hold text (T = prompt + answer), which
    leaves every supervised logit unchanged because the models are causal.
    """
    check_choice("padding", padding, ("block", "trim"))
    text = problems.text()  # (N, S)
    n, s = text.shape
    p = problems.prompt.shape[1]
    if s > block_size:
        raise ConfigError(f"block_size must be at least {s} for {problems.task} at length "
                          f"{problems.length}; got {block_size}")
    t = block_size if padding == "block" else s
    seq = torch.full((n, t + 1), PAD, dtype=torch.long)
    seq[:, :s] = text
    inputs, targets = seq[:, :-1], seq[:, 1:].clone()
    targets[:, : p - 1] = IGNORE  # the prompt (the last prompt character predicts the answer)
    targets[:, s:] = IGNORE  # everything after the end-of-sequence target
    return inputs, targets
