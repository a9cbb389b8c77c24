"""A simulated model provider with planted behaviour, so the suite can be checked.

`simulated/<role>` answers the suite's own prompts from planted parameters:

- **chooser** answers forced choices (and rankings) from planted utilities:
  P(A over B) = Phi((u_A - u_B + position_bias) / sqrt(var_A + var_B)). Asked for
  logprobs, it returns the first token's top `top_logprobs` tokens: A, B, "I" (the
  refusal/unparseable mass) and, with `logprob_other_tokens`, that many other tokens
  sharing `logprob_other_mass`, so a letter can fall out of a short top list.
- **writer** returns a text whose *latent quality* is
  `item effect + shift[arm] + utility_slope * u(outcome) + noise`; the arm is
  recognised from the prompt with `identify_framing`. Its length is four sentences,
  plus `length_shifts[arm] + length_sd * noise` sentences of padding that carry no
  quality (both 0 by default: every text is four sentences).
- **judge** compares two texts by latent quality with planted noise, position
  bias, a tie band and a planted share of unparseable answers; rubric prompts get
  1-10 scores from the same latent quality. Shown a judge-control text it knows (the
  shipped controls, plus `-M controls=PATH`) beside a damaged copy of it, it values the
  copy `damage_sensitivity[damage]` below the intact text (the damage is recognised
  with `solvers.damage.identify_damage`), so the panel's accuracy on each damage type
  of the judge controls is planted: P(one presentation prefers the intact text) =
  Phi((sensitivity +/- position_bias) / judge_sd). `length_bias` adds
  `length_bias * log2(words_1 / words_2)` to a pairwise comparison: a judge that
  likes length (rubric scores ignore it).
- **subject** is chooser + writer (a model under test); **any** answers everything.
- `simulated/<role>/<label>` (e.g. `simulated/subject/strong`) is a separate model with
  the same role: its own name in logs and reports, and draws seeded with the label too,
  so several planted subjects can be studied side by side (`--model` repeated).
  A writer or subject also answers the entity-behaviour prompts and scored tasks:
  donation advice follows the planted utility of each entity by `advice_slope` and
  refuses disliked entities by `refusal_slope`; a reading item or a task with a known
  answer (`answers`) is answered correctly with probability
  `Phi(probit(accuracy) + accuracy_shifts[arm] + accuracy_slope * u(promise))`, where
  the arm and promise come from a framed benchmark prompt (`benchmark_framing.py`) or
  the entity a reading prompt plays for. An entity's utility is the mean planted
  utility of its outcomes in `entity_set`, so it is the utility its forced choices show.

How a text carries its latent quality: the writer ends every text with a line
`[sim-quality: +0.7341]` (`QUALITY_MARKER`). Only the simulated judge reads it. It
holds a single number: no arm, item, outcome or seed, so nothing about the framing
can leak to a judge through it. A text without a marker (a real text, e.g. in the
judge controls) is valued by a crude, documented heuristic (`heuristic_quality`).

Every draw is seeded from (seed, prompt, how many times that prompt was seen), so a
rerun reproduces the same answers whatever order the calls arrive in. The parameters,
their checks and the files they load are in `simulated_params.py` (names re-exported).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
from collections import Counter
from typing import Any

import numpy as np
from scipy.stats import norm

from inspect_ai.model import (
    ChatCompletionChoice,
    ChatMessage,
    ChatMessageAssistant,
    GenerateConfig,
    Logprob,
    Logprobs,
    ModelAPI,
    ModelOutput,
    ModelUsage,
    TopLogprob,
)
from inspect_ai.tool import ToolChoice, ToolInfo

from utility_gap.models.simulated_params import (  # noqa: F401  (re-exported: the provider's public names)
    ACCURACY_SHIFT_ARMS,
    CHOOSING_ROLES,
    DEFAULT_DAMAGE_SENSITIVITY,
    JUDGING_ROLES,
    ROLES,
    WRITING_ROLES,
    SimulatedArgumentError,
    SimulatedParams,
    _key,
    load_answer_key,
    load_planted_utilities,
    parse_params,
)
from utility_gap.scorers.judge_prompts import split_pairwise_prompt, split_rubric_prompt
from utility_gap.evals.task_items import load_control_texts
from utility_gap.solvers.benchmark_framing import identify_benchmark_framing
from utility_gap.solvers.choice_prompt import split_forced_choice, split_ranking
from utility_gap.solvers.damage import identify_damage
from utility_gap.solvers.entity_prompts import split_donation_advice, split_reading_prompt
from utility_gap.solvers.framing_text import identify_framing

QUALITY_MARKER = "[sim-quality: {quality:+.4f}]"
_QUALITY_RE = re.compile(r"\[sim-quality: ([+-]\d+\.\d+)\]")

REFUSAL_TEXT = "I'm sorry, but I can't choose between these options."
WRITER_REFUSAL_TEXT = "I'm sorry, but I can't help with this request."
UNPARSEABLE_CHOICE_TEXT = "Both options have merit, and the choice depends on many factors."
UNPARSEABLE_JUDGE_TEXT = "Both responses have strengths and weaknesses."
LEAK_LINE = "I hope this entry wins the competition for the sponsor."
ADVICE_TEXT = "Both would put the money to use, and the choice is yours in the end.\n\nRecommendation: {pick}"
ADVICE_REFUSAL_TEXT = "I'm sorry, but I can't recommend one of these over the other; it's your decision."
WRONG_ANSWER_TEXT = "I am not sure; my best guess is that it cannot be determined."

_PADDING = (
    "It is also worth restating here that the points above remain relevant.",
    "In other words, the same consideration applies once again in this case.",
    "As noted, this matter has several aspects that were already mentioned.",
    "To put it another way, the discussion above covers this point as well.",
)
"""Sentences a length-only arm adds: they repeat, and add nothing a judge should reward."""

_FILLER = (
    "The central point deserves a clear statement before the details.",
    "Evidence from several sources supports this reading.",
    "A careful reader will notice the trade-offs involved.",
    "The practical consequences follow directly from this.",
    "Each step is explained in plain language.",
    "The limitations are stated openly rather than hidden.",
    "This section summarises what matters most.",
    "The argument closes by returning to its opening question.",
)


def simulated_role(model: str) -> str | None:
    """The role of `simulated/<role>[/<label>]`, or None for a model of another provider."""
    return model.split("/")[1] if model.startswith("simulated/") else None


def stable_hash(*parts: Any) -> int:
    """A process-independent 64-bit hash (Python's `hash` is salted per process)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "little")


def planted_utility(text: str, seed: int = 0) -> float:
    """The default planted utility of an outcome text: a seeded standard normal draw."""
    rng = np.random.default_rng(stable_hash("utility", seed, text.strip()))
    return float(rng.standard_normal())


def item_effect(task: str, seed: int = 0) -> float:
    """The planted per-item quality offset (standard normal), shared by both arms of a pair."""
    rng = np.random.default_rng(stable_hash("item", seed, task.strip()))
    return float(rng.standard_normal())


def quality_of(text: str) -> float | None:
    """The latent quality a simulated writer planted in a text, if any."""
    found = _QUALITY_RE.findall(text)
    return float(found[-1]) if found else None


def _words(text: str) -> int:
    """Words of a text without its quality marker (at least 1, for a log ratio)."""
    return max(1, len(_QUALITY_RE.sub("", text).split()))


def heuristic_quality(text: str) -> float:
    """For texts without a marker: log word count, less a penalty for non-words.

    This lets the simulated judge see truncation and gross corruption; it cannot
    see shuffled paragraphs or subtly wrong facts, and the judge-control report says so.
    """
    words = re.findall(r"\S+", text)
    if not words:
        return -5.0
    odd = sum(1 for w in words if not re.fullmatch(r"[A-Za-z][a-z]*[.,;:!?'\")]*|[\"'(]?[A-Za-z][a-z]*|[\d.,%$-]+", w))
    return math.log(len(words)) - 4.0 * odd / len(words)


def _normalised(text: str) -> str:
    return " ".join(text.split())


class SimulatedModelAPI(ModelAPI):
    """Seeded, offline, tokenizer-free answers to the suite's prompts."""

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = GenerateConfig(),
        **model_args: Any,
    ) -> None:
        super().__init__(model_name, base_url, api_key, [], config)
        # `simulated/<role>/<label>`: a labelled instance is its own model (e.g. two subjects
        # with different planted effects in one study); the label also seeds its draws.
        self.role, _, self.label = model_name.partition("/")
        self.params = parse_params(self.role, model_args)
        self._planted = load_planted_utilities(self.params.utilities) if self.params.utilities else {}
        self._seen: Counter[str] = Counter()
        self._known_controls: set[str] | None = None
        self.calls = 0
        self._entity_utilities: dict[str, float] | None = None
        self._answer_key: dict[str, str] | None = None

    def max_connections(self) -> int:
        return 32

    # -- planted truth, public so tests can compute what should be recovered ----------
    def utility(self, text: str) -> float:
        planted = self._planted.get(text.strip())
        if planted is not None:
            return planted[0]
        return planted_utility(text, self.params.utility_seed)

    def utility_sd(self, text: str) -> float:
        planted = self._planted.get(text.strip())
        if planted is not None and planted[1] is not None:
            return math.sqrt(float(planted[1]))
        return self.params.choice_sd

    def choice_probability(self, option_a: str, option_b: str) -> float:
        """P(the model answers A), before refusals and unparseable answers."""
        scale = math.hypot(self.utility_sd(option_a), self.utility_sd(option_b))
        diff = self.utility(option_a) - self.utility(option_b) + self.params.position_bias
        if scale == 0:
            return 1.0 if diff > 0 else 0.0 if diff < 0 else 0.5
        return float(norm.cdf(diff / scale))

    def known_controls(self) -> set[str]:
        """The intact judge-control texts this judge knows (whitespace-normalised)."""
        if self._known_controls is None:
            texts = load_control_texts()
            if self.params.controls:
                try:
                    texts += load_control_texts(self.params.controls)
                except (OSError, ValueError) as ex:
                    raise SimulatedArgumentError(f"'-M controls={self.params.controls}': {ex}") from None
            self._known_controls = {_normalised(c.text) for c in texts}
        return self._known_controls

    def control_qualities(self, text_1: str, text_2: str) -> tuple[float, float] | None:
        """Planted qualities of a (known control, damaged copy) pair, in either order, else None."""
        known = self.known_controls()
        for intact, other, flip in ((text_1, text_2, False), (text_2, text_1, True)):
            if _normalised(intact) in known and (kind := identify_damage(intact, other)) is not None:
                qualities = (0.0, -self.params.damage_sensitivity.get(kind, 0.0))
                return qualities[::-1] if flip else qualities
        return None

    def intact_preference_probability(self, damage: str, intact_first: bool = True) -> float:
        """P(one presentation of a known control vs its `damage`d copy prefers the intact text).

        Without `length_bias`, which adds a preference for the longer text (the intact one, for truncation).
        """
        p = self.params
        margin = p.damage_sensitivity.get(damage, 0.0) + (p.position_bias if intact_first else -p.position_bias)
        if p.judge_sd == 0:
            return float(margin > p.tie_band)
        return float(norm.sf((p.tie_band - margin) / p.judge_sd))

    # -- the ModelAPI -------------------------------------------------------------------
    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput:
        self.calls += 1
        prompt = "\n\n".join(m.text for m in input if m.role != "assistant")
        if self.params.latency:
            await asyncio.sleep(self.params.latency)
        if self.params.call_log:
            with open(self.params.call_log, "a") as log:
                log.write(f"{self.model_name}\t{stable_hash(prompt):016x}\n")
        self._seen[prompt] += 1
        seed = (self.params.seed, self.label) if self.label else (self.params.seed,)
        rng = np.random.default_rng(stable_hash(*seed, prompt, self._seen[prompt]))
        last = input[-1].text if input else ""
        role = self.role
        can_choose = role in CHOOSING_ROLES
        can_write = role in WRITING_ROLES
        can_judge = role in JUDGING_ROLES

        if can_choose and (options := split_forced_choice(last)) is not None:
            return self._choose(options, rng, bool(config.logprobs), max(1, config.num_choices or 1),
                                config.top_logprobs)
        if can_choose and (ranked := split_ranking(last)) is not None:
            return self._rank(ranked, rng)
        if can_judge and (pair := split_pairwise_prompt(last)) is not None:
            return self._judge_pair(pair, rng)
        if can_judge and (rubric := split_rubric_prompt(last)) is not None:
            return self._judge_rubric(rubric, rng)
        if can_write and (answered := self._answer(last, rng)) is not None:
            return answered
        if can_write:
            return self._write(last, rng)
        raise ValueError(
            f"simulated/{role} cannot answer this prompt (it answers only "
            f"{'forced choices and rankings' if role == 'chooser' else 'judge prompts'}). "
            f"Prompt starts: {last[:120]!r}"
        )

    def _output(self, text: str, prompt_chars: int = 0, logprobs: Logprobs | None = None) -> ModelOutput:
        usage = ModelUsage(
            input_tokens=max(1, prompt_chars // 4),
            output_tokens=max(1, len(text) // 4),
            total_tokens=max(1, prompt_chars // 4) + max(1, len(text) // 4),
        )
        return ModelOutput(
            model=f"simulated/{self.model_name}",
            choices=[
                ChatCompletionChoice(
                    message=ChatMessageAssistant(content=text, model=f"simulated/{self.model_name}"),
                    stop_reason="stop",
                    logprobs=logprobs,
                )
            ],
            usage=usage,
        )

    def _choose(
        self, options: tuple[str, str], rng: np.random.Generator, want_logprobs: bool, num_choices: int = 1,
        top_logprobs: int | None = None,
    ) -> ModelOutput:
        p = self.params
        p_a = self.choice_probability(*options)
        logprobs = None
        if want_logprobs and p.logprobs:
            answered = 1.0 - p.refusal_rate - p.unparseable_rate * (1 - p.refusal_rate)
            letters = answered * (1.0 - p.logprob_other_mass) if p.logprob_other_tokens else answered
            eps = 1e-12
            top = [
                TopLogprob(token="A", logprob=math.log(max(eps, letters * p_a))),
                TopLogprob(token="B", logprob=math.log(max(eps, letters * (1 - p_a)))),
                TopLogprob(token="I", logprob=math.log(max(eps, 1 - answered))),
            ]
            for n in range(p.logprob_other_tokens):  # e.g. "Option", "The", " " on a real model
                share = answered * p.logprob_other_mass / p.logprob_other_tokens
                top.append(TopLogprob(token=f"tok{n}", logprob=math.log(max(eps, share))))
            top.sort(key=lambda t: -t.logprob)
            if top_logprobs:  # the provider returns only the top N tokens asked for
                top = top[:top_logprobs]
            logprobs = Logprobs(content=[Logprob(token=top[0].token, logprob=top[0].logprob, top_logprobs=top)])
        texts = []
        for _ in range(num_choices):  # `num_choices` (OpenAI's `n`): independent draws, one call
            if rng.random() < p.refusal_rate:
                texts.append(REFUSAL_TEXT)
            elif rng.random() < p.unparseable_rate:
                texts.append(UNPARSEABLE_CHOICE_TEXT)
            else:
                texts.append("A" if rng.random() < p_a else "B")
        output = self._output(texts[0], sum(map(len, options)) + 200, logprobs)
        for text in texts[1:]:
            output.choices.append(
                ChatCompletionChoice(
                    message=ChatMessageAssistant(content=text, model=f"simulated/{self.model_name}"),
                    stop_reason="stop",
                    logprobs=logprobs,
                )
            )
        return output

    def _rank(self, options: list[str], rng: np.random.Generator) -> ModelOutput:
        if rng.random() < self.params.refusal_rate:
            return self._output(REFUSAL_TEXT)
        draws = [self.utility(o) + self.utility_sd(o) * rng.standard_normal() / math.sqrt(2) for o in options]
        order = sorted(range(len(options)), key=lambda i: -draws[i])
        return self._output(", ".join(str(i + 1) for i in order), sum(map(len, options)))

    def writer_quality(self, prompt: str) -> float:
        """The expected latent quality of a text written for this prompt (no noise)."""
        framing = identify_framing(prompt)
        p = self.params
        quality = p.item_sd * item_effect(framing.task, p.seed)
        quality += p.shifts.get(framing.arm, 0.0)
        if framing.arm == "utility" and framing.outcome:
            quality += p.utility_slope * self.utility(framing.outcome)
        return quality

    # -- entity behaviour and scored answers -----------------------------------------------
    def entity_utility(self, name: str) -> float:
        """An entity's planted utility: the mean utility of its outcomes in `entity_set`.

        A name the set does not list gets a seeded draw of its own (`planted_utility`).
        """
        if self._entity_utilities is None:
            from utility_gap.evals.outcomes import OutcomeSetError, load_outcomes

            try:
                outcomes = load_outcomes(self.params.entity_set)
            except OutcomeSetError as ex:
                raise SimulatedArgumentError(f"'-M entity_set={self.params.entity_set}': {ex}") from None
            texts: dict[str, list[str]] = {}
            for outcome in outcomes:
                if outcome.entity:
                    texts.setdefault(outcome.entity, []).append(outcome.text)
            self._entity_utilities = {e: float(np.mean([self.utility(t) for t in ts])) for e, ts in texts.items()}
        found = self._entity_utilities.get(name)
        return found if found is not None else planted_utility(name, self.params.utility_seed)

    def advice_probability(self, first: str, second: str) -> float:
        """P(the advice names `first`), given that the model advises at all."""
        return float(norm.cdf(self.params.advice_slope * (self.entity_utility(first) - self.entity_utility(second))))

    def advice_refusal_probability(self, first: str, second: str) -> float:
        """P(an advice attempt is refused): `refusal_rate` plus `refusal_slope` x the pair's mean dislike."""
        dislike = (max(0.0, -self.entity_utility(first)) + max(0.0, -self.entity_utility(second))) / 2
        return float(min(1.0, self.params.refusal_rate + self.params.refusal_slope * dislike))

    def correct_probability(self, prompt: str) -> float | None:
        """P(a correct answer) to a reading item or keyed task; None when the model knows no answer."""
        _, incentive, answer = self._task_terms(prompt)
        return None if answer is None else self._p_correct(incentive)

    def _p_correct(self, incentive: float) -> float:
        base = min(max(self.params.accuracy, 1e-9), 1 - 1e-9)
        return float(norm.cdf(norm.ppf(base) + incentive))

    def _task_terms(self, prompt: str) -> tuple[str, float, str | None]:
        """(the task under any benchmark framing, the probit incentive, the known answer or None)."""
        p = self.params
        incentive = 0.0
        framing = identify_benchmark_framing(prompt)
        task = prompt
        if framing is not None:
            task = framing.task
            incentive += p.accuracy_shifts.get(framing.arm, 0.0)
            if framing.entity is not None:
                incentive += p.accuracy_slope * self.entity_utility(framing.entity)
            elif framing.arm == "utility" and framing.outcome:
                incentive += p.accuracy_slope * self.utility(framing.outcome)
        if (reading := split_reading_prompt(task)) is not None:
            entity, _, question = reading
            incentive += p.accuracy_slope * self.entity_utility(entity)
            return task, incentive, self._known_answers().get(_key(question))
        return task, incentive, self._known_answers().get(_key(task))

    def _known_answers(self) -> dict[str, str]:
        if self._answer_key is None:
            self._answer_key = load_answer_key(self.params.answers, self.params.reading_items)
        return self._answer_key

    def _answer(self, prompt: str, rng: np.random.Generator) -> ModelOutput | None:
        """Donation advice, a reading item or a keyed task; None for a prompt of another kind."""
        framing = identify_benchmark_framing(prompt)
        inner = framing.task if framing is not None else prompt
        if (pair := split_donation_advice(inner)) is not None:
            first, second = pair
            if rng.random() < self.advice_refusal_probability(first, second):
                return self._output(ADVICE_REFUSAL_TEXT, len(prompt))
            pick = first if rng.random() < self.advice_probability(first, second) else second
            return self._output(ADVICE_TEXT.format(pick=pick), len(prompt))
        task, incentive, answer = self._task_terms(prompt)
        is_reading = split_reading_prompt(task) is not None
        if answer is None and not is_reading:
            return None
        if rng.random() < self.params.refusal_rate:
            return self._output(WRITER_REFUSAL_TEXT, len(prompt))
        if answer is None:  # a reading item whose answer it was not given: a guess
            correct, answer = rng.random() < 0.5, "yes"
        else:
            correct = rng.random() < self._p_correct(incentive)
        if is_reading:
            said = answer if correct else ("no" if answer == "yes" else "yes")
            return self._output(f"Let me think.\n\n{said.capitalize()}", len(prompt))
        return self._output(answer if correct else WRONG_ANSWER_TEXT, len(prompt))

    def _write(self, prompt: str, rng: np.random.Generator) -> ModelOutput:
        p = self.params
        if rng.random() < p.refusal_rate:
            return self._output(WRITER_REFUSAL_TEXT, len(prompt))
        quality = self.writer_quality(prompt) + p.noise_sd * rng.standard_normal()
        sentences = [_FILLER[i] for i in rng.choice(len(_FILLER), size=4, replace=False)]
        if p.length_shifts or p.length_sd:  # drawn after the draws above, so defaults reproduce today's texts
            sentences = self._padded(sentences, identify_framing(prompt).arm, rng)
        body = " ".join(sentences)
        if rng.random() < p.leak_rate:
            body += " " + LEAK_LINE
        return self._output(f"{body}\n\n{QUALITY_MARKER.format(quality=quality)}", len(prompt))

    def _padded(self, sentences: list[str], arm: str, rng: np.random.Generator) -> list[str]:
        """Add (or, below zero, remove) sentences of padding; the quality marker is unchanged."""
        p = self.params
        extra = int(round(p.length_shifts.get(arm, 0.0) + p.length_sd * rng.standard_normal()))
        if extra < 0:
            return sentences[: max(1, len(sentences) + extra)]
        start = int(rng.integers(len(_PADDING)))
        return sentences + [_PADDING[(start + i) % len(_PADDING)] for i in range(extra)]

    def _judge_pair(self, pair: tuple[str, str], rng: np.random.Generator) -> ModelOutput:
        p = self.params
        if rng.random() < p.unparseable_rate:
            return self._output(UNPARSEABLE_JUDGE_TEXT)
        planted = self.control_qualities(*pair)
        if planted is not None:
            q1, q2 = planted
        else:
            q1, q2 = (quality_of(t) if quality_of(t) is not None else heuristic_quality(t) for t in pair)
        z = q1 - q2 + p.position_bias + p.judge_sd * rng.standard_normal()
        if p.length_bias:
            z += p.length_bias * math.log2(_words(pair[0]) / _words(pair[1]))
        if abs(z) <= p.tie_band:
            verdict, reason = "TIE", "The two responses are of about equal quality."
        elif z > 0:
            verdict, reason = "1", "Response 1 does the task better."
        else:
            verdict, reason = "2", "Response 2 does the task better."
        return self._output(f"VERDICT: {verdict}\nREASON: {reason}", sum(map(len, pair)))

    def _judge_rubric(self, rubric: tuple[str, list[str]], rng: np.random.Generator) -> ModelOutput:
        p = self.params
        response, criteria = rubric
        if rng.random() < p.unparseable_rate:
            return self._output(UNPARSEABLE_JUDGE_TEXT)
        quality = quality_of(response)
        if quality is None:
            quality = heuristic_quality(response) - 4.0
        lines = []
        for criterion in criteria:
            score = int(np.clip(round(5.5 + 1.5 * (quality + p.judge_sd * rng.standard_normal())), 1, 10))
            lines.append(f"SCORE {criterion}: {score}")
        return self._output("\n".join(lines), len(response))
