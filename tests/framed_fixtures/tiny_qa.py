"""Local file tasks for the framed-benchmark tests: a tiny QA task, a templated one, and two that cannot be framed.

Run as `-T task=tests/framed_fixtures/tiny_qa.py@tiny_qa`, as a lab would name its own file task.
"""

from pathlib import Path

from inspect_ai import Task, task
from inspect_ai.dataset import Sample, json_dataset
from inspect_ai.model import ChatMessageSystem
from inspect_ai.scorer import Score, Target, accuracy, match, scorer
from inspect_ai.solver import TaskState, generate, prompt_template

ITEMS = Path(__file__).with_name("tiny_qa.jsonl")


@task
def tiny_qa(path: str = str(ITEMS)) -> Task:
    """Short factual questions, scored by exact match of the answer."""
    return Task(dataset=json_dataset(path), solver=generate(), scorer=match())


TEMPLATE = "Answer the question below. Reply with the answer only.\n\n{prompt}\n\nYour answer:"


@task
def templated_qa() -> Task:
    """The tiny QA task with a solver that wraps the user turn in a template (as gsm8k's prompt_template does)."""
    return Task(dataset=json_dataset(str(ITEMS)), solver=[prompt_template(TEMPLATE), generate()], scorer=match())


@task
def system_only() -> Task:
    """Every prompt sits in the system message: there is no user turn to frame."""
    samples = [Sample(id="s1", input=[ChatMessageSystem(content="Say the word 'ready'.")], target="ready")]
    return Task(dataset=samples, solver=generate(), scorer=match())


@scorer(metrics=[accuracy()])
def letter_grade():
    """Grades with letters (A-F), which are not numbers."""

    async def score(state: TaskState, target: Target) -> Score:
        return Score(value="A" if state.output.completion.strip() == target.text else "F")

    return score


@task
def letter_graded() -> Task:
    """A QA task whose scorer returns letter grades."""
    return Task(dataset=json_dataset(str(ITEMS)), solver=generate(), scorer=letter_grade())
