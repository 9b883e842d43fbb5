"""Generation-based evaluation at any list of lengths, batched over problems (book: the
results chapter, "What is measured").

decoding="sample" is the paper's protocol: temperature-1 sampling, here from a dedicated
seeded generator so that evaluation is reproducible and leaves training untouched.
decoding="greedy" takes the argmax. For greedy decoding one teacher-forced pass is exact for
every problem it gets right (its generation would feed back exactly the target), so only the
problems with a mistake are generated token by token. Generation uses the KV cache unless
`cached=False` (`artrm.training.generation`: the same tokens).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from artrm.data.tasks import Problems, derive_seed, eval_problems
from artrm.models.base import ARModel
from artrm.training.generation import Decoder, Tally, generate
from artrm.training.metrics import score
from artrm.training.passes import forward_passes

__all__ = ["evaluate", "generate", "inference_steps", "predict", "teacher_forced_argmax"]


@torch.no_grad()
def teacher_forced_argmax(model: ARModel, problems: Problems,
                          tally: Tally | None = None) -> torch.Tensor:
    """Argmax prediction of every answer character given the true prefix, (N, A)."""
    text = problems.text()
    p, a = problems.prompt.shape[1], problems.answer.shape[1]
    out = model(text[:, :-1])  # logits (N, P + A - 1, V)
    if tally is not None:
        tally.add(forward_passes(model, out.stats))
    return out.logits[:, p - 1:p - 1 + a].argmax(dim=-1)


@torch.no_grad()
def predict(model: ARModel, problems: Problems, decoding: str,
            generator: torch.Generator | None = None, one_pass: bool = True,
            cached: bool = True, tally: Tally | None = None,
            decoder: Decoder | None = None) -> torch.Tensor:
    """Generated answers (N, A) for `problems`, on the model's device."""
    device = next(model.parameters()).device
    prompt, answer = problems.prompt.to(device), problems.answer.to(device)
    n_new = answer.shape[1]
    if decoding == "sample" or not one_pass:
        return generate(model, prompt, n_new, decoding, generator, cached, tally, decoder)
    on_device = Problems(problems.task, problems.length, prompt, answer)
    pred = teacher_forced_argmax(model, on_device, tally)
    wrong = (pred != answer).any(dim=1)
    pred[~wrong] = answer[~wrong]
    if wrong.any():
        pred[wrong] = generate(model, prompt[wrong], n_new, "greedy", None, cached, tally,
                               decoder)
    return pred


def evaluate(model: ARModel, task: str, lengths: tuple[int, ...], n_problems: int, seed: int,
             decoding: str, round_id: int = 0, batch_size: int | None = None,
             cached: bool = True, decoder: Decoder | None = None,
             ) -> dict[str, dict[str, float | None]]:
    """Metrics per length (keys are the lengths as strings) on the run's evaluation sets,
    and the mean block passes per model forward of the uncached generation ("passes", as
    its early-exit loops realise them, whichever path ran).

    Sampling draws from a generator seeded by (seed, task, length, round_id), so a round's
    result does not depend on what ran before it.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    results = {}
    for length in lengths:
        problems = eval_problems(task, length, n_problems, seed)
        generator = torch.Generator(device=device)
        generator.manual_seed(derive_seed(seed, "decode", task, length, round_id))
        chunk = batch_size or len(problems)
        tally = Tally()
        preds = [predict(model, problems[i:i + chunk], decoding, generator, cached=cached,
                         tally=tally, decoder=decoder).cpu()
                 for i in range(0, len(problems), chunk)]
        results[str(length)] = score(torch.cat(preds), problems.answer)
        results[str(length)]["passes"] = tally.mean()
    model.train(was_training)
    return results


@contextlib.contextmanager
def inference_steps(model: ARModel, steps: int | None, full_compute: bool | None = None
                    ) -> Iterator[None]:
    """Temporarily run `steps` loop steps (and optionally force full compute)."""
    saved = model.steps, model.full_compute
    try:
        if steps is not None:
            model.set_inference_steps(steps)
        if full_compute is not None:
            model.full_compute = full_compute
        yield
    finally:
        model.steps, model.full_compute = saved
